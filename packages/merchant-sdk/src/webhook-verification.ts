import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { WebhookEvent } from './types.ts';

export class WebhookVerificationError extends Error {
  constructor(readonly reason: 'header-missing' | 'header-malformed' | 'key-unknown' | 'signature-invalid' | 'timestamp-outside-tolerance' | 'body-malformed', message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface WebhookKeySet {
  keys: Array<JsonWebKey & { kid?: string }>;
}

/**
 * Verifies a webhook delivery from Sideband and returns its event. Pass the raw body
 * exactly as received (not re-serialised JSON), the `Sideband-Signature` header, and the
 * gateway's keys from `client.webhookKeys()` (cache them; refetch on `key-unknown`).
 *
 * @example
 * const event = verifyWebhook({ body: rawBody, signature: req.headers['sideband-signature'], keys });
 * if (event.type === 'authorization.approved') ship(event.data.merchantReference);
 */
export function verifyWebhook(input: { body: string | Uint8Array; signature: string | string[] | undefined; keys: WebhookKeySet; toleranceSeconds?: number; now?: number }): WebhookEvent {
  const header = Array.isArray(input.signature) ? input.signature[0] : input.signature;
  if (!header) throw new WebhookVerificationError('header-missing', 'No Sideband-Signature header.');
  const parts = new Map<string, string>();
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const t = Number(parts.get('t'));
  const keyId = parts.get('keyid');
  const sig = parts.get('ed25519');
  if (!Number.isInteger(t) || !keyId || !sig) throw new WebhookVerificationError('header-malformed', 'Sideband-Signature must be t=…,keyid=…,ed25519=….');
  const now = Math.floor((input.now ?? Date.now()) / 1000);
  const tolerance = input.toleranceSeconds ?? 300;
  if (Math.abs(now - t) > tolerance) throw new WebhookVerificationError('timestamp-outside-tolerance', `The delivery was signed ${now - t} s ago; at most ${tolerance} s is accepted (replay window).`);
  const jwk = input.keys.keys.find((k) => k.kid === keyId);
  if (!jwk) throw new WebhookVerificationError('key-unknown', `No webhook key ${keyId}; fetch the current keys.`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new WebhookVerificationError('key-unknown', `Webhook key ${keyId} is not a usable public key.`);
  }
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
  const signed = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), body]);
  if (!verify(null, signed, key, Buffer.from(sig, 'base64url'))) throw new WebhookVerificationError('signature-invalid', 'The webhook signature does not verify.');
  try {
    return JSON.parse(body.toString('utf8')) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('body-malformed', 'The webhook body is not JSON.');
  }
}
