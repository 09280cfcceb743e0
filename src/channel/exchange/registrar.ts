import type { Logger } from '../../observability/logger.ts';
import { createResponse, formatDigestChallenge, parseDigestCredentials, type DigestAuthenticator, hopOf, type ServerTransaction } from '@sideband/sip/protocol';
import type { Peer } from '@sideband/sip/transport';
import { callIdOf, cseqOf, toOf, parseNameAddress, type SipRequest, formatSipUri, type SipUri } from '@sideband/sip/wire';
import type { LineDirectory } from './line-directory.ts';
import { bindingKey, type LocationService } from './location-service.ts';

export interface RegistrarOptions {
  /** Shorter registrations are refused 423 (RFC 3261 §10.3 step 7). */
  readonly minExpires: number;
  /** Longer ones are shortened to this. */
  readonly maxExpires: number;
  /** Transports the exchange listens on: a contact on another cannot be reached, and is refused. */
  readonly transports: ReadonlySet<string>;
  /** Told of each request whose Digest credentials held, so that its connection keeps its place. */
  readonly authenticated?: (source: Peer) => void;
}

/**
 * The registrar (RFC 3261 §10.3): authenticates a REGISTER with Digest, checks that the
 * address-of-record's number is the authenticated line's, and updates its bindings.
 */
export class Registrar {
  constructor(
    private readonly authenticator: DigestAuthenticator,
    private readonly lines: LineDirectory,
    private readonly location: LocationService,
    private readonly options: RegistrarOptions,
    private readonly logger: Logger,
  ) {}

  register(request: SipRequest, source: Peer, transaction: ServerTransaction): void {
    const reply = (status: number, options: Parameters<typeof createResponse>[2] = {}) => transaction.respond(createResponse(request, status, options));

    // §10.3 step 3: "A registrar SHOULD authenticate the UAC"; it answers 401 with WWW-Authenticate (§22.1).
    const credentials = request.headers.getAll('Authorization').map(parseDigestCredentials).find((c) => c.ok && c.value.realm === this.authenticator.realm);
    if (!credentials?.ok) return reply(401, { headers: [['WWW-Authenticate', formatDigestChallenge(this.authenticator.challenge())]] });
    const verified = this.authenticator.verify(credentials.value, { method: 'REGISTER', uri: request.uri }, (u) => this.lines.password(u));
    if (!verified.ok) {
      this.logger.info({ username: credentials.value.username, reason: verified.reason, source: `${source.address}:${source.port}` }, 'SIP REGISTER refused');
      return reply(401, { headers: [['WWW-Authenticate', formatDigestChallenge(this.authenticator.challenge(verified.stale))]] });
    }
    this.options.authenticated?.(source);

    // §10.3 step 5: "If the address-of-record in the To header field is not valid for the
    // domain in the Request-URI, the registrar MUST send a 404 (Not Found) response".
    const aor = toOf(request).uri;
    const number = aor.scheme === 'tel' ? aor.number : aor.user;
    if (number === null || this.lines.ownerOf(number) === undefined) return reply(404, { reason: 'Unknown Number' });
    // §10.3 step 4: "If the authenticated user is not authorized to modify bindings, the
    // registrar MUST return a 403 (Forbidden)". A line may bind only its own numbers.
    if (!this.lines.owns(verified.username, number)) return reply(403, { reason: 'Not Your Number' });

    const callId = callIdOf(request);
    const seq = cseqOf(request).seq;
    const contacts = request.headers.getAll('Contact');
    const expiresHeader = request.headers.get('Expires');
    const headerExpires = expiresHeader !== undefined && /^\d{1,10}$/.test(expiresHeader) ? Number(expiresHeader) : null;

    // §10.3 step 6: "*" removes every binding, only with Expires 0 and alone, else 400.
    if (contacts.length === 1 && contacts[0] === '*') {
      if (headerExpires !== 0) return reply(400, { reason: 'Wildcard Contact Needs Expires 0' });
      for (const b of this.location.lookup(number)) {
        if (b.callId === callId && seq <= b.cseq) return reply(500, { reason: 'Out Of Order' });
      }
      this.location.remove(number);
      return reply(200, { headers: [['Date', new Date().toUTCString()]] });
    }

    type Change = { uri: SipUri; contact: string; expires: number };
    const changes: Change[] = [];
    for (const text of contacts) {
      const parsed = parseNameAddress(text);
      if (!parsed.ok || parsed.value.uri.scheme === 'tel') return reply(400, { reason: 'Invalid Contact' });
      const uri = parsed.value.uri;
      const hop = hopOf(uri);
      if (hop === null || !this.options.transports.has(hop.transport)) return reply(400, { reason: 'Unsupported Contact Transport' });
      const param = parsed.value.params.get('expires');
      // §10.3 step 7: the contact's expires parameter, else the Expires header, else a local default.
      const expires = param !== undefined && param !== null && /^\d{1,10}$/.test(param) ? Number(param) : (headerExpires ?? 3600);
      // §10.3 step 7: "if and only if the requested expiration interval is greater than
      // zero AND smaller than one hour AND less than a registrar-configured minimum, the
      // registrar MAY reject the registration with a response of 423".
      if (expires > 0 && expires < this.options.minExpires) return reply(423, { headers: [['Min-Expires', String(this.options.minExpires)]] });
      const existing = this.location.find(number, bindingKey(uri));
      // §10.3 step 7: with the same Call-ID and a CSeq not higher than the binding's, "the
      // update MUST be aborted and the request fails"; it fails 500, as Kamailio's does.
      if (existing && existing.callId === callId && seq <= existing.cseq) return reply(500, { reason: 'Out Of Order' });
      changes.push({ uri, contact: formatSipUri(uri), expires: Math.min(expires, this.options.maxExpires) });
    }
    // §10.3 step 7: "The binding updates MUST be committed ... only if all binding updates and additions succeed."
    const now = Date.now();
    for (const c of changes) {
      if (c.expires === 0) this.location.remove(number, bindingKey(c.uri));
      else this.location.put({ number, contact: c.contact, uri: c.uri, hop: hopOf(c.uri)!, username: verified.username, callId, cseq: seq, expiresAt: now + c.expires * 1000, registeredAt: now });
    }
    // §10.3 step 8: the 200 lists every current binding with its expires parameter.
    const current = this.location.lookup(number).map((b): [string, string] => ['Contact', `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`]);
    this.logger.debug({ number, username: verified.username, bindings: current.length }, 'SIP REGISTER accepted');
    reply(200, { headers: [...current, ['Date', new Date(now).toUTCString()]] });
  }
}
