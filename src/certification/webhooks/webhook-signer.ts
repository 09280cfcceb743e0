import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { signRequest } from '@sideband/http-signatures';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';

/**
 * Signs webhook deliveries with an Ed25519 key that lives sealed in the vault, so every
 * gateway sharing the database signs with the same key and merchants verify with the
 * public key from GET /v1/webhook-keys; no shared secret has to reach the merchant.
 *
 * Header: `Sideband-Signature: t=UNIX_SECONDS,keyid=KID,ed25519=BASE64URL(sig)`, the
 * signature over the bytes `${t}.${body}`.
 */
export class WebhookSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    readonly keyId: string,
  ) {}

  static async load(store: Store, vault: Vault): Promise<WebhookSigner> {
    let row = await store.db.selectFrom('vault_records').select('id').where('kind', '=', 'webhook-signing-key').orderBy('created_at').executeTakeFirst();
    if (!row) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await store.db.transaction().execute(async (tx) => {
        const again = await tx.selectFrom('vault_records').select('id').where('kind', '=', 'webhook-signing-key').executeTakeFirst();
        if (!again) await vault.seal(tx, 'webhook-signing-key', { pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64') });
      });
      row = await store.db.selectFrom('vault_records').select('id').where('kind', '=', 'webhook-signing-key').orderBy('created_at').executeTakeFirstOrThrow();
    }
    const { pkcs8 } = await vault.open<{ pkcs8: string }>(row.id, 'webhook-signing', 'system:webhooks');
    const privateKey = createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const keyId = `whk-${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16)}`;
    return new WebhookSigner(privateKey, publicKey, keyId);
  }

  header(body: string, at = Date.now()): string {
    const t = Math.floor(at / 1000);
    const sig = sign(null, Buffer.from(`${t}.${body}`, 'utf8'), this.privateKey).toString('base64url');
    return `t=${t},keyid=${this.keyId},ed25519=${sig}`;
  }

  /**
   * Signs a request the provider sends a merchant's channel endpoint (RFC 9421, the same
   * key): merchants verify it with the keys from GET /v1/webhook-keys.
   */
  signedHeaders(method: string, url: string, body: string): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const signed = signRequest({ method, url, headers, body }, { privateKey: this.privateKey, keyid: this.keyId, components: ['@method', '@target-uri', 'content-digest'] });
    if (signed.contentDigest) headers['content-digest'] = signed.contentDigest;
    return { ...headers, 'signature-input': signed.signatureInput, signature: signed.signature };
  }

  jwks(): { keys: object[] } {
    return { keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.keyId, use: 'sig', alg: 'EdDSA' }] };
  }
}
