import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { signRequest } from '@sideband/http-signatures';
import type { ApiErrorBody, Authorization, AuthorizationList, ChannelCapabilities, ChannelExchange, CreateAuthorization, CreateCapture, CreateChannelExchange, CreateRefund, Movement } from './types.ts';
import type { WebhookKeySet } from './webhook-verification.ts';
import { NodeTransport, type TransportResponse } from './node-transport.ts';

/** An answer of the API that is not a success: its `code` is stable (see the OpenAPI document). */
export class SidebandApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly type: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'SidebandApiError';
  }
}

export interface SidebandClientOptions {
  /**
   * The gateway's merchant API as the provider publishes it, e.g. `https://pay.isp.example`:
   * every request's URL under it is what the signature covers (`@target-uri`).
   */
  baseUrl: string;
  /**
   * Where to send the requests when that is not `baseUrl`: e.g. the gateway's address on an
   * internal network, past the TLS proxy that serves `baseUrl`. The signatures still name
   * `baseUrl`'s URLs, which is what a gateway behind that proxy verifies
   * (`merchantApi.publicOrigin`). Default: `baseUrl`.
   *
   * @example
   * new SidebandClient({ baseUrl: 'https://pay.isp.example', connectUrl: 'http://10.0.0.5:7443', keyId, privateKey });
   */
  connectUrl?: string;
  /** The key id the provider registered for your signing key. */
  keyId: string;
  /** Your Ed25519 private key: a KeyObject or PEM text. */
  privateKey: KeyObject | string;
  /** Retries after a network error, a 5xx, or an in-progress duplicate (waiting as long as Retry-After says, at most 15 s). Default 2. */
  maxRetries?: number;
  /** Each attempt's limit, from sending the request to reading the whole answer. Default 10 000. */
  timeoutMs?: number;
  /**
   * Send the requests with this fetch instead (tests, instrumentation, a proxy's dispatcher).
   * Default: Node's `http.request`/`https.request` through keep-alive connections the client
   * owns (see `close()`), which costs the client less than half the CPU of the global fetch.
   */
  fetch?: typeof fetch;
}

interface RequestOptions {
  idempotencyKey?: string;
}

const RETRYABLE_CODES = new Set(['IDEMPOTENCY_KEY_IN_PROGRESS', 'INTERNAL']);

/**
 * The merchant's client for Sideband. Every request is signed (RFC 9421, Ed25519, over
 * @method, @target-uri and content-digest with created, expires, nonce and keyid); every
 * POST carries an Idempotency-Key, generated once and reused on each retry and covered by
 * the signature, so a retried authorization or capture never happens twice.
 *
 * @example
 * const sideband = new SidebandClient({ baseUrl, keyId: 'shop-2026', privateKey: pem });
 * const auth = await sideband.authorizations.create({
 *   customer: { address: req.socket.remoteAddress, port: req.socket.remotePort },
 *   amount: 1999, currency: 'EUR', description: 'Book', capture: 'manual',
 * });
 * if (auth.status === 'approved') await sideband.authorizations.capture(auth.id);
 */
export class SidebandClient {
  private readonly key: KeyObject;
  private readonly fetchImpl: typeof fetch;
  /** The default transport; none when the caller gave a fetch. */
  private readonly node: NodeTransport | undefined;

  constructor(private readonly options: SidebandClientOptions) {
    this.key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
    this.fetchImpl = options.fetch ?? fetch;
    this.node = options.fetch === undefined ? new NodeTransport() : undefined;
  }

  /**
   * Closes the keep-alive connections the client holds (none when you gave it `fetch`).
   * You need not call it for the process to exit: idle connections do not keep it alive,
   * and the gateway closes them after a few seconds. Call it when done with the client in a
   * long-lived process, with no request in flight (those would fail as network errors). The
   * client stays usable: a later request opens a new connection.
   *
   * @example
   * const sideband = new SidebandClient({ baseUrl, keyId, privateKey });
   * try { await sideband.authorizations.capture(id); } finally { sideband.close(); }
   */
  close(): void {
    this.node?.destroy();
  }

  readonly authorizations = {
    create: (params: CreateAuthorization, opts: RequestOptions = {}) => this.request<Authorization>('POST', '/v1/authorizations', params, opts.idempotencyKey ?? randomUUID()),
    retrieve: (id: string) => this.request<Authorization>('GET', `/v1/authorizations/${encodeURIComponent(id)}`),
    list: (params: { status?: string; createdAfter?: string; createdBefore?: string; limit?: number; startingAfter?: string } = {}) => {
      const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
      return this.request<AuthorizationList>('GET', `/v1/authorizations${q.size ? `?${q}` : ''}`);
    },
    capture: (id: string, params: CreateCapture = {}, opts: RequestOptions = {}) => this.request<Movement>('POST', `/v1/authorizations/${encodeURIComponent(id)}/captures`, params, opts.idempotencyKey ?? randomUUID()),
    void: (id: string, opts: RequestOptions = {}) => this.request<Authorization>('POST', `/v1/authorizations/${encodeURIComponent(id)}/void`, {}, opts.idempotencyKey ?? randomUUID()),
    refund: (id: string, params: CreateRefund = {}, opts: RequestOptions = {}) => this.request<Movement>('POST', `/v1/authorizations/${encodeURIComponent(id)}/refunds`, params, opts.idempotencyKey ?? randomUUID()),
  };

  readonly captures = { retrieve: (id: string) => this.request<Movement>('GET', `/v1/captures/${encodeURIComponent(id)}`) };
  readonly refunds = { retrieve: (id: string) => this.request<Movement>('GET', `/v1/refunds/${encodeURIComponent(id)}`) };

  /** The provider's side of the secure channel (docs/secure-channel.md). */
  readonly channel = {
    capabilities: () => this.request<ChannelCapabilities>('GET', '/v1/channel'),
    createExchange: (params: CreateChannelExchange, opts: RequestOptions = {}) =>
      this.request<ChannelExchange>('POST', '/v1/channel/exchanges', params, opts.idempotencyKey ?? randomUUID()),
    retrieveExchange: (id: string) => this.request<ChannelExchange>('GET', `/v1/channel/exchanges/${encodeURIComponent(id)}`),
  };

  /** The gateway's webhook signing keys, for verifyWebhook. */
  webhookKeys(): Promise<WebhookKeySet> {
    return this.request<WebhookKeySet>('GET', '/v1/webhook-keys');
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const target = new URL(path, this.options.baseUrl);
    const url = target.toString();
    const destination = this.options.connectUrl === undefined ? target : new URL(path, this.options.connectUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      // A fresh signature (and nonce) per attempt: the gateway refuses a reused nonce.
      const headers: Record<string, string> = { accept: 'application/json' };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
      // The Idempotency-Key is signed too: otherwise whoever relays the request could
      // change it and make one signed purchase into two (the gateway refuses it uncovered).
      const components = idempotencyKey ? ['@method', '@target-uri', 'content-digest', 'idempotency-key'] : ['@method', '@target-uri', 'content-digest'];
      const signed = signRequest({ method, url, headers, body: payload ?? '' }, { privateKey: this.key, keyid: this.options.keyId, components });
      if (signed.contentDigest) headers['content-digest'] = signed.contentDigest;
      headers['signature-input'] = signed.signatureInput;
      headers.signature = signed.signature;
      let res: TransportResponse;
      try {
        const timeoutMs = this.options.timeoutMs ?? 10_000;
        res = this.node
          ? await this.node.send(destination, { method, headers, ...(payload !== undefined ? { body: payload } : {}), timeoutMs })
          : await this.fetchImpl(destination.href, { method, headers, ...(payload !== undefined ? { body: payload } : {}), signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        if (attempt < maxRetries) {
          await backoff(attempt);
          continue;
        }
        throw e;
      }
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as T;
      let error: ApiErrorBody['error'] = { type: 'internal', code: 'INTERNAL', message: `HTTP ${res.status}` };
      try {
        error = (JSON.parse(text) as ApiErrorBody).error ?? error;
      } catch {
        // not JSON: keep the generic error
      }
      if (attempt < maxRetries && (res.status >= 500 || RETRYABLE_CODES.has(error.code))) {
        await backoff(attempt, res.headers.get('retry-after'));
        continue;
      }
      throw new SidebandApiError(res.status, error.code, error.type, error.message, error.param);
    }
  }
}

/**
 * Exponential backoff with jitter, or the server's Retry-After (seconds, at most 15: how
 * long a gateway that died mid-request keeps its idempotency key) when it sent one.
 */
function backoff(attempt: number, retryAfter: string | null = null): Promise<void> {
  const asked = retryAfter !== null && /^\d{1,4}$/.test(retryAfter) ? Math.min(15, Number(retryAfter)) * 1000 : null;
  return new Promise((r) => setTimeout(r, asked ?? 200 * 2 ** attempt + Math.random() * 100));
}
