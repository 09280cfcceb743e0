import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { newId } from '../core/identity/ids.ts';
import { parseCidr } from '../core/network/cidr.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import type { MerchantStatus, SettlementPreference } from '../store/schema.ts';
import { toIso } from '../core/time/to-iso.ts';

export interface MerchantKeyView {
  keyId: string;
  use: 'sig' | 'enc';
  algorithm: string;
  status: 'active' | 'revoked';
  createdAt: string;
}

export interface MerchantView {
  id: string;
  name: string;
  status: MerchantStatus;
  webhookUrl: string | null;
  settlementPreference: SettlementPreference;
  networks: string[];
  keys: MerchantKeyView[];
  channel: { url: string; lineNumber: string; fingerprint: string } | null;
  createdAt: string;
  certifiedAt: string | null;
  revokedAt: string | null;
}

const settlements: readonly SettlementPreference[] = ['card', 'provider_bill', 'merchant_bill'];

/** A private key in any form createPublicKey accepts (PEM of any kind, OpenSSH, a JWK with its private members). */
function isPrivateKey(trimmed: string): boolean {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(trimmed)) return true;
  if (!trimmed.startsWith('{')) return false;
  try {
    const jwk = JSON.parse(trimmed) as Record<string, unknown>;
    return ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in jwk);
  } catch {
    return false;
  }
}

/**
 * Reads a PEM or JWK public key and names its algorithm; signing keys must be Ed25519.
 * A private key is refused rather than reduced to its public half (which Node would do
 * without a word): the provider must never hold a merchant's private key.
 */
export function parsePublicKey(text: string, use: 'sig' | 'enc'): { key: KeyObject; algorithm: string; pem: string } {
  let key: KeyObject;
  if (isPrivateKey(text.trim())) throw new SidebandError('MERCHANT_KEY_PRIVATE', 'This is a private key; register the public key only (`openssl pkey -in KEY.pem -pubout`). Nothing was stored.', { param: 'key' });
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('{') ? createPublicKey({ key: JSON.parse(trimmed) as import('node:crypto').JsonWebKey, format: 'jwk' }) : createPublicKey(trimmed);
  } catch {
    throw new SidebandError('MERCHANT_KEY_INVALID', 'The key is not a public key in PEM or JWK form.', { param: 'key' });
  }
  const type = key.asymmetricKeyType ?? 'unknown';
  const algorithm = type === 'ed25519' ? 'ed25519' : type === 'ec' ? `ec-${key.asymmetricKeyDetails?.namedCurve ?? '?'}` : type;
  const ok = use === 'sig' ? type === 'ed25519' : ['x25519', 'rsa'].includes(type) || algorithm === 'ec-prime256v1';
  if (!ok) throw new SidebandError('MERCHANT_KEY_INVALID', use === 'sig' ? `A signing key must be Ed25519, not ${algorithm}.` : `An encryption key must be P-256, X25519 or RSA, not ${algorithm}.`, { param: 'key' });
  return { key, algorithm, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The certification server's authorized listing of merchants (the seed's Internet Entities). */
export class MerchantRegistry {
  constructor(
    private readonly store: Store,
    private readonly actor = 'cli',
  ) {}

  async add(input: { name: string; webhookUrl?: string | null; settlement?: SettlementPreference }): Promise<MerchantView> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 200) throw new SidebandError('REQUEST_INVALID', 'A merchant name is 1 to 200 characters.', { param: 'name' });
    const settlement = input.settlement ?? 'card';
    if (!settlements.includes(settlement)) throw new SidebandError('REQUEST_INVALID', `settlement must be one of ${settlements.join(', ')}.`, { param: 'settlement' });
    const webhook = input.webhookUrl ? this.checkWebhook(input.webhookUrl) : null;
    const now = Date.now();
    const id = newId('mer', now);
    await this.store.db.transaction().execute(async (tx) => {
      if (await tx.selectFrom('merchants').select('id').where('name', '=', name).executeTakeFirst()) {
        throw new SidebandError('MERCHANT_NAME_TAKEN', `A merchant named ${name} already exists.`, { param: 'name' });
      }
      await tx
        .insertInto('merchants')
        .values({ id, name, status: 'pending', webhook_url: webhook, settlement_preference: settlement, pseudonym_salt: randomBytes(32).toString('base64'), created_at: now, updated_at: now, certified_at: null, revoked_at: null })
        .execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.add', subjectType: 'merchant', subjectId: id, detail: { name, settlement } });
    });
    return this.show(id);
  }

  private checkWebhook(url: string): string {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new SidebandError('MERCHANT_WEBHOOK_INVALID', `${JSON.stringify(url)} is not an absolute URL.`, { param: 'webhookUrl' });
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new SidebandError('MERCHANT_WEBHOOK_INVALID', 'The webhook URL must be http or https.', { param: 'webhookUrl' });
    return u.toString();
  }

  private async row(id: string) {
    const row = await this.store.db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new SidebandError('MERCHANT_NOT_FOUND', `No merchant ${id}.`, { param: 'merchant' });
    return row;
  }

  async show(id: string): Promise<MerchantView> {
    const m = await this.row(id);
    const [networks, keys] = await Promise.all([
      this.store.db.selectFrom('merchant_networks').select('cidr').where('merchant_id', '=', id).orderBy('created_at').execute(),
      this.store.db.selectFrom('merchant_keys').selectAll().where('merchant_id', '=', id).orderBy('created_at').execute(),
    ]);
    return {
      id: m.id, name: m.name, status: m.status, webhookUrl: m.webhook_url, settlementPreference: m.settlement_preference,
      networks: networks.map((n) => n.cidr),
      channel: m.channel_url && m.channel_line && m.channel_fingerprint ? { url: m.channel_url, lineNumber: m.channel_line, fingerprint: m.channel_fingerprint } : null,
      keys: keys.map((k) => ({ keyId: k.id, use: k.use, algorithm: k.algorithm, status: k.status, createdAt: toIso(k.created_at)! })),
      createdAt: toIso(m.created_at)!, certifiedAt: toIso(m.certified_at), revokedAt: toIso(m.revoked_at),
    };
  }

  async list(): Promise<MerchantView[]> {
    const ids = await this.store.db.selectFrom('merchants').select('id').orderBy('name').execute();
    return Promise.all(ids.map((r) => this.show(r.id)));
  }

  async certify(id: string): Promise<MerchantView> {
    const m = await this.row(id);
    if (m.status === 'revoked') throw new SidebandError('MERCHANT_STATUS_INVALID', `Merchant ${id} was revoked and cannot be certified again.`);
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('merchants').set({ status: 'certified', certified_at: now, updated_at: now }).where('id', '=', id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.certify', subjectType: 'merchant', subjectId: id });
    });
    return this.show(id);
  }

  async revoke(id: string): Promise<MerchantView> {
    await this.row(id);
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('merchants').set({ status: 'revoked', revoked_at: now, updated_at: now }).where('id', '=', id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.revoke', subjectType: 'merchant', subjectId: id });
    });
    return this.show(id);
  }

  async addKey(id: string, input: { publicKey: string; use?: 'sig' | 'enc'; keyId?: string }): Promise<MerchantKeyView> {
    await this.row(id);
    const use = input.use ?? 'sig';
    const { algorithm, pem } = parsePublicKey(input.publicKey, use);
    const keyId = input.keyId ?? newId('mkey');
    if (!/^[\w.:-]{1,128}$/.test(keyId)) throw new SidebandError('REQUEST_INVALID', 'A key id is 1 to 128 letters, digits, dots, colons, dashes or underscores.', { param: 'keyId' });
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      if (await tx.selectFrom('merchant_keys').select('id').where('id', '=', keyId).executeTakeFirst()) throw new SidebandError('MERCHANT_KEY_ID_TAKEN', `Key id ${keyId} is already registered.`, { param: 'keyId' });
      await tx.insertInto('merchant_keys').values({ id: keyId, merchant_id: id, use, algorithm, public_key: pem, status: 'active', created_at: now, revoked_at: null }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.add-key', subjectType: 'merchant', subjectId: id, detail: { keyId, use, algorithm } });
    });
    return { keyId, use, algorithm, status: 'active', createdAt: toIso(now)! };
  }

  async revokeKey(id: string, keyId: string): Promise<void> {
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('merchant_keys').set({ status: 'revoked', revoked_at: now }).where('id', '=', keyId).where('merchant_id', '=', id).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new SidebandError('MERCHANT_NOT_FOUND', `Merchant ${id} has no key ${keyId}.`, { param: 'keyId' });
      await appendAudit(tx, { actor: this.actor, action: 'merchant.revoke-key', subjectType: 'merchant', subjectId: id, detail: { keyId } });
    });
  }

  /** Registers the merchant's secure-channel endpoint: where to negotiate, its line number and its certificate. */
  async setChannel(id: string, input: { url: string; lineNumber: string; fingerprint: string }): Promise<MerchantView> {
    await this.row(id);
    const url = this.checkWebhook(input.url);
    if (!/^\+?[0-9]{3,20}$/.test(input.lineNumber)) throw new SidebandError('REQUEST_INVALID', 'The line number is a telephone number such as +15550199000.', { param: 'line' });
    const m = /^sha-256 ((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/.exec(input.fingerprint.trim());
    if (!m) throw new SidebandError('REQUEST_INVALID', 'The fingerprint is "sha-256 AB:CD:…" (RFC 8122), 32 bytes.', { param: 'fingerprint' });
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('merchants').set({ channel_url: url.endsWith('/') ? url : `${url}/`, channel_line: input.lineNumber, channel_fingerprint: `sha-256 ${m[1]!.toUpperCase()}`, updated_at: now }).where('id', '=', id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.set-channel', subjectType: 'merchant', subjectId: id, detail: { url, lineNumber: input.lineNumber } });
    });
    return this.show(id);
  }

  /**
   * Changes (or, with null, removes) the webhook URL. Deliveries not yet made go to the new
   * URL too: the old one is usually changed because it no longer answers. (CAMARA
   * notifications go to the sink their request named, never to this URL.)
   */
  async setWebhook(id: string, url: string | null): Promise<MerchantView & { redirected: number }> {
    await this.row(id);
    const webhook = url === null ? null : this.checkWebhook(url);
    const now = Date.now();
    const redirected = await this.store.db.transaction().execute(async (tx) => {
      await tx.updateTable('merchants').set({ webhook_url: webhook, updated_at: now }).where('id', '=', id).execute();
      let moved = 0;
      if (webhook) {
        const r = await tx.updateTable('webhook_deliveries').set({ url: webhook }).where('merchant_id', '=', id).where('status', '=', 'pending').where('format', '=', 'sideband').executeTakeFirst();
        moved = Number(r.numUpdatedRows);
      }
      await appendAudit(tx, { actor: this.actor, action: 'merchant.set-webhook', subjectType: 'merchant', subjectId: id, detail: { webhookUrl: webhook, pendingRedirected: moved } });
      return moved;
    });
    return { ...(await this.show(id)), redirected };
  }

  async removeNetwork(id: string, cidrText: string): Promise<MerchantView> {
    await this.row(id);
    const cidr = parseCidr(cidrText);
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom('merchant_networks').where('merchant_id', '=', id).where('cidr', '=', cidr.text).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new SidebandError('MERCHANT_NETWORK_NOT_FOUND', `Merchant ${id} has no network ${cidr.text}.`, { param: 'cidr' });
      await appendAudit(tx, { actor: this.actor, action: 'merchant.remove-network', subjectType: 'merchant', subjectId: id, detail: { cidr: cidr.text } });
    });
    return this.show(id);
  }

  async addNetwork(id: string, cidrText: string): Promise<MerchantView> {
    await this.row(id);
    const cidr = parseCidr(cidrText);
    const now = Date.now();
    await this.store.db.transaction().execute(async (tx) => {
      if (await tx.selectFrom('merchant_networks').select('id').where('merchant_id', '=', id).where('cidr', '=', cidr.text).executeTakeFirst()) return;
      await tx.insertInto('merchant_networks').values({ id: newId('mnet', now), merchant_id: id, cidr: cidr.text, created_at: now }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'merchant.add-network', subjectType: 'merchant', subjectId: id, detail: { cidr: cidr.text } });
    });
    return this.show(id);
  }
}
