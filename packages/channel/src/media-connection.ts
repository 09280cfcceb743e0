import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { connect, createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { certificateFingerprint as derFingerprint } from '@sideband/sip/sdp';
import { normaliseFingerprint, type ChannelIdentity } from './channel-certificate.ts';

/**
 * The call's media: TLS 1.3 over TCP (RFC 4145 `a=setup`, RFC 8122 `a=fingerprint`). Both
 * ends present their certificate and each accepts only the peer certificate whose
 * fingerprint it expects — the one registered for that party, which must also be the one
 * the SDP announced. There is no certificate authority: the registration is the trust.
 */
export interface MediaListener {
  host: string;
  port: number;
  /** Resolves with the first connection whose certificate matches; closes the listener. */
  accepted: Promise<TLSSocket>;
  close(): void;
}

/**
 * The peer certificate's RFC 8122 fingerprint, hashed from its DER as received. Only the
 * DER is needed: getPeerCertificate() would also decode every field into an object, on
 * each end of each call.
 */
function peerFingerprint(socket: TLSSocket): string | null {
  const raw = socket.getPeerX509Certificate()?.raw;
  if (!raw) return null;
  const f = derFingerprint(raw);
  return `${f.hashFunction} ${f.value}`;
}

/** Each identity's key and certificate parsed once, not on every call's connection. */
const contexts = new WeakMap<ChannelIdentity, SecureContext>();
function secureContextOf(identity: ChannelIdentity): SecureContext {
  let context = contexts.get(identity);
  if (!context) {
    context = createSecureContext({ cert: identity.certificatePem, key: identity.privateKeyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    contexts.set(identity, context);
  }
  return context;
}

/**
 * Frames are small and each waits for the peer's answer or follows one that did (hello,
 * item, done): with Nagle's algorithm a frame written while the previous one is unacknowledged
 * waits for the peer's delayed ACK, 40 ms on Linux, which was most of an exchange's time.
 */
function noDelay(socket: TLSSocket): void {
  socket.setNoDelay(true);
}

/** The passive end (the callee): listens for the caller's TLS connection. */
export function listenMedia(identity: ChannelIdentity, host: string, expectedPeer: string, timeoutMs: number): Promise<MediaListener> {
  return new Promise((resolve, reject) => {
    let settle: (s: TLSSocket) => void = () => {};
    let fail: (e: Error) => void = () => {};
    const accepted = new Promise<TLSSocket>((res, rej) => { settle = res; fail = rej; });
    accepted.catch(() => {});
    // A TCP server whose connections are wrapped here, rather than tls.createServer: that
    // parses the key and certificate anew for each call's listener, and takes no
    // secureContext. Same handshake: TLS 1.3 only, the client's certificate required.
    const server = createTcpServer((tcp) => {
      const socket = new TLSSocket(tcp, { isServer: true, secureContext: secureContextOf(identity), requestCert: true, rejectUnauthorized: false });
      // A failed handshake, as tls.Server's tlsClientError: that connection only.
      socket.on('error', () => socket.destroy());
      tcp.setTimeout(timeoutMs, () => socket.destroy());
      socket.once('secure', () => {
        if (peerFingerprint(socket) !== normaliseFingerprint(expectedPeer)) {
          socket.destroy();
          return;
        }
        tcp.setTimeout(0);
        clearTimeout(timer);
        server.close();
        noDelay(socket);
        settle(socket);
      });
    });
    const timer = setTimeout(() => { server.close(); fail(new Error('media-timeout')); }, timeoutMs);
    server.once('error', reject);
    server.listen(0, host, () => {
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port, accepted, close: () => { clearTimeout(timer); server.close(); fail(new Error('media-closed')); } });
    });
  });
}

/** The active end (the caller): connects and checks the callee's certificate. */
export function connectMedia(identity: ChannelIdentity, host: string, port: number, expectedPeer: string, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, secureContext: secureContextOf(identity), rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', timeout: timeoutMs });
    socket.once('secureConnect', () => {
      if (peerFingerprint(socket) !== normaliseFingerprint(expectedPeer)) {
        socket.destroy();
        reject(new Error('peer-certificate-mismatch'));
        return;
      }
      socket.setTimeout(0);
      noDelay(socket);
      resolve(socket);
    });
    socket.once('timeout', () => { socket.destroy(); reject(new Error('media-timeout')); });
    socket.once('error', (e) => reject(e));
  });
}
