import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { certificateFingerprint, normaliseFingerprint, type ChannelIdentity } from './channel-certificate.ts';

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

function peerFingerprint(socket: TLSSocket): string | null {
  const raw = socket.getPeerX509Certificate?.();
  return raw ? certificateFingerprint(new X509Certificate(raw.raw).toString()) : null;
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
    const server = createServer({ cert: identity.certificatePem, key: identity.privateKeyPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }, (socket) => {
      if (peerFingerprint(socket) !== normaliseFingerprint(expectedPeer)) {
        socket.destroy();
        return;
      }
      clearTimeout(timer);
      server.close();
      noDelay(socket);
      settle(socket);
    });
    const timer = setTimeout(() => { server.close(); fail(new Error('media-timeout')); }, timeoutMs);
    server.on('tlsClientError', () => {});
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
    const socket = connect({ host, port, cert: identity.certificatePem, key: identity.privateKeyPem, rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', timeout: timeoutMs });
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
