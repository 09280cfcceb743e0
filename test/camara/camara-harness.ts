import assert from 'node:assert/strict';
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { CamaraConsents } from '../../src/certification/camara/camara-consents.ts';
import { shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { CamaraSpec } from './camara-spec.ts';

export const PAYMENTS = '/carrier-billing/v0.5';
export const REFUNDS = '/carrier-billing-refund/v0.3';

export type CamaraAnswer = { status: number; headers: Headers; body: (Record<string, unknown> & { code?: string; paymentStatus?: string; paymentId?: string; refundId?: string }) | undefined; list: Array<Record<string, unknown>> };

let phones = 0;

/**
 * A CAMARA client of the merchant in `m` (or of another merchant of its gateway): OAuth
 * client credentials with private_key_jwt, and every answer checked against the published
 * document of the API it came from.
 */
export function camaraClient(m: MerchantSetup, who: { merchantId: string; keyId: string; privateKey: KeyObject } = m) {
  const origin = `http://${m.t.gateway.listen.merchantHttp}`;
  const specs = [new CamaraSpec('carrier-billing-refund-v0.3.yaml', REFUNDS), new CamaraSpec('carrier-billing-v0.5.yaml', PAYMENTS)];
  const assertion = (over: { key?: KeyObject; kid?: string; jti?: string; exp?: number; aud?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: over.kid ?? who.keyId })
      .setIssuer(who.merchantId).setSubject(who.merchantId).setAudience(over.aud ?? `${origin}/oauth2/token`)
      .setJti(over.jti ?? randomUUID()).setIssuedAt().setExpirationTime(over.exp ?? Math.floor(Date.now() / 1000) + 60)
      .sign(over.key ?? who.privateKey);
  const tokenRequest = async (jwt: string) => fetch(`${origin}/oauth2/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
  });
  return {
    origin, assertion, tokenRequest, specs,
    async token(): Promise<string> {
      const res = await tokenRequest(await assertion());
      assert.equal(res.status, 200);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    /** `path` starts with the API's base (PAYMENTS or REFUNDS). */
    async call(method: string, path: string, bearer: string | null, body?: unknown, correlator?: string): Promise<CamaraAnswer> {
      const res = await fetch(`${origin}${path}`, {
        method, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(correlator ? { 'x-correlator': correlator } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      specs.find((s) => path.startsWith(s.base))!.check(method, path.split('?')[0]!, res.status, text);
      const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
      return { status: res.status, headers: res.headers, body: Array.isArray(parsed) ? undefined : (parsed as CamaraAnswer['body']), list: Array.isArray(parsed) ? (parsed as Array<Record<string, unknown>>) : [] };
    },
  };
}

/** A subscriber online and visiting the merchant, with a registered phone number and (unless `consent: false`) consent for `m`'s merchant. */
export async function camaraCustomer(m: MerchantSetup, login: string, sub: Parameters<typeof shopper>[2] & { consent?: boolean } = {}) {
  const { consent, ...rest } = sub;
  const s = await shopper(m, login, rest);
  const phoneNumber = `+3467${process.pid % 1000}${String(++phones).padStart(4, '0')}`;
  await m.t.gateway.context.subscribers.setPhoneNumber(login, phoneNumber);
  // Identified by address, CAMARA's answer tells the merchant this number: the subscriber allows it.
  if (consent !== false) await new CamaraConsents(m.t.gateway.context.store, 'test').set(login, m.merchantId, true);
  return { ...s, phoneNumber };
}

/** A createPayment body identifying the customer by the address of their connection. */
/**
 * A fresh reference code with no digits: the gateway refuses text holding 13 to 19 digits
 * that pass the Luhn check (a card number, even split by dashes), which a UUID's digit
 * groups do one time in ten.
 */
export const referenceCode = (prefix: string): string => `${prefix}-${randomUUID().replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!)}`;

export const paymentBody = (c: { address: string }, amount: number, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  device: { ipv4Address: { publicAddress: c.address, publicPort: 51000 } },
  amountTransaction: { referenceCode: referenceCode('ref'), paymentAmount: { chargingInformation: { amount, currency: 'EUR', description: 'A rail pass' } }, ...extra },
  ...top,
});
