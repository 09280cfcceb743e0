import type { FastifyInstance } from 'fastify';
import { canonicalAddress } from '../../core/network/cidr.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import { SessionProvisioning } from '../../provisioning/sessions.ts';
import type { SessionService } from './session-service.ts';
import { toIso } from '../../core/time/to-iso.ts';
import { deterministicNatAt } from '../../provisioning/deterministic-nat.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';

function parseTime(value: string | undefined): number {
  if (value === undefined) return Date.now();
  // RFC 3339 date-time: a zone is required, so that "who held it at 10:00" is unambiguous.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new SidebandError('REQUEST_INVALID', 'at must be an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z.', { param: 'at' });
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new SidebandError('REQUEST_INVALID', `at ${value} is not a valid time.`, { param: 'at' });
  return ms;
}

export interface Resolution {
  address: string;
  port: number | null;
  at: string;
  subscriber: { id: string | null; login: string };
  session: { id: string; status: string; nas: string; nasPort: number | null; acctSessionId: string | null };
  /** `prefix`: the IPv6 prefix held, when the address lies inside one (Framed- or Delegated-IPv6-Prefix). */
  binding: { id: string; start: string; end: string | null; portFirst: number | null; portLast: number | null; prefix: string | null };
  /** Through a deterministic NAT (RFC 7422): the mapping and the inside address the session held. */
  translation?: { mapping: string; insideAddress: string };
}

/** "Who held address A (and port P) at time T": the resolution the merchant API rests on. */
export async function resolveHolder(sessions: SessionService, store: Store, input: { address: string; port?: number | undefined; at?: number }): Promise<Resolution> {
  return (await locateHolder(sessions, store, input)).resolution;
}

/** What a purchase needs of the subscriber, read with the session (locateHolder's `forMerchant`). */
export interface HolderSubscriber {
  status: string;
  currency: string;
  auto_approve_limit: number | null;
  release_to_merchant: number;
  /** Their secure-channel switch for this merchant; null when off. */
  channel_mode: string | null;
  /** Their spending rule (dynamic-authorization-queue.ts `queueSpendingRule`); null when none. */
  spent_session_seconds: number | null;
}

interface HolderRow {
  id: string;
  subscriber_id: string | null;
  login: string;
  status: string;
  ended_at: number | null;
  nas_port: number | null;
  acct_session_id: string | null;
  nas: string;
}

const HOLDER_COLUMNS = 's.id, s.subscriber_id, s.login, s.status, s.ended_at, s.nas_port, s.acct_session_id, n.name as nas';
const holderSession = new PreparedStatement<HolderRow>(`select ${HOLDER_COLUMNS} from sessions s join nas_clients n on n.id = s.nas_id where s.id = ?`);
interface HolderRowForMerchant extends HolderRow {
  subscriber_status: string | null;
  subscriber_currency: string | null;
  auto_approve_limit: number | null;
  release_to_merchant: number | null;
  merchant_network: string | null;
  channel_mode: string | null;
  spent_session_seconds: number | null;
}
/**
 * The same row with the subscriber, the merchant's networks and the subscriber's channel switch
 * beside it: a purchase needs them all, and each round trip to PostgreSQL costs more than the rows. One row per
 * network (a merchant has a few), or one with a null network when it has none.
 */
const FOR_MERCHANT_COLUMNS = 'sub.status as subscriber_status, sub.currency as subscriber_currency, sub.auto_approve_limit, sub.release_to_merchant, sub.spent_session_seconds, mn.cidr as merchant_network, cp.mode as channel_mode';
/** Parameters: merchant id, merchant id, session id. */
const FOR_MERCHANT_FROM = `from sessions s join nas_clients n on n.id = s.nas_id
   left join subscribers sub on sub.id = s.subscriber_id
   left join merchant_networks mn on mn.merchant_id = ?
   left join channel_preferences cp on cp.subscriber_id = s.subscriber_id and cp.merchant_id = ?
   where s.id = ?`;
const holderSessionForMerchant = new PreparedStatement<HolderRowForMerchant>(`select ${HOLDER_COLUMNS}, ${FOR_MERCHANT_COLUMNS} ${FOR_MERCHANT_FROM}`);
/**
 * PostgreSQL: the same, with whether a deterministic NAT in force at the time has the
 * address among its outside addresses (deterministicNatAt's question), so that a purchase
 * from an address no mapping covers costs one round trip, not two. Parameters: time, time,
 * address, then FOR_MERCHANT_FROM's.
 */
const holderSessionForMerchantUntranslated = new PreparedStatement<HolderRowForMerchant & { translated: boolean }>(
  `select ${HOLDER_COLUMNS}, ${FOR_MERCHANT_COLUMNS},
     exists (select 1 from deterministic_nat d where d.created_at <= ? and (d.removed_at is null or d.removed_at > ?) and ?::inet <<= d.outside_cidr::inet) as translated
   ${FOR_MERCHANT_FROM}`,
);

/**
 * `resolveHolder`, with what the merchant API needs of the session beside it (when it
 * ended), read in the same query rather than in a second round trip; with `forMerchant`,
 * also the subscriber's row, that merchant's networks and the subscriber's secure-channel
 * switch for it.
 */
export async function locateHolder(
  sessions: SessionService,
  store: Store,
  input: { address: string; port?: number | undefined; at?: number; forMerchant?: string },
): Promise<Located> {
  const address = canonicalAddress(input.address);
  const at = input.at ?? Date.now();
  if (input.port !== undefined && (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535)) {
    throw new SidebandError('REQUEST_INVALID', 'port must be 0 to 65535.', { param: 'port' });
  }
  if (input.forMerchant !== undefined && store.dialect === 'postgres' && !address.includes(':')) {
    const untranslated = await locateUntranslated(sessions, store, { address, port: input.port, at, forMerchant: input.forMerchant });
    if (untranslated) return untranslated;
  }
  // RFC 7422: an outside address of a deterministic NAT answers by the inside address its port maps from.
  const dnat = await deterministicNatAt(store.db, address, at);
  if (dnat && input.port === undefined) throw new SidebandError('RESOLVE_PORT_REQUIRED', `${address} is an outside address of deterministic NAT ${dnat.name}; give the source port.`, { param: 'port' });
  const insideAddress = dnat && input.port !== undefined ? dnat.nat.reverse(address, input.port) : undefined;
  const translation = dnat && insideAddress ? { mapping: dnat.name, insideAddress } : undefined;
  if (dnat && !translation) throw new SidebandError('RESOLVE_NOT_FOUND', `Port ${input.port} of ${address} maps to no inside address of deterministic NAT ${dnat.name}.`);

  if (input.port === undefined && sessions.isShared(address, at)) {
    throw new SidebandError('RESOLVE_PORT_REQUIRED', `${address} was shared under carrier-grade NAT at that time; give the source port.`, { param: 'port' });
  }
  const binding = translation ? sessions.resolve(translation.insideAddress, at) : sessions.resolve(address, at, input.port);
  if (!binding) throw new SidebandError('RESOLVE_NOT_FOUND', `Nobody held ${address}${input.port !== undefined ? ` port ${input.port}` : ''} at ${new Date(at).toISOString()}.`);
  const forMerchant = input.forMerchant === undefined ? null : await holderSessionForMerchant.all(store.db, store.dialect, [input.forMerchant, input.forMerchant, binding.sessionId]);
  const session = forMerchant ? forMerchant[0] : await holderSession.first(store.db, store.dialect, [binding.sessionId]);
  if (!session) throw new SidebandError('RESOLVE_NOT_FOUND', `The session that held ${address} is no longer on file.`);
  return located({ address, port: input.port, at }, binding, session, forMerchant, translation);
}

/**
 * locateHolder for a purchase on PostgreSQL when no deterministic NAT covers the address:
 * undefined whenever the answer might differ from the general path's (a mapping covers the
 * address, the address needs a port, nobody or no session on file held it), which then
 * answers, errors included.
 */
async function locateUntranslated(sessions: SessionService, store: Store, input: { address: string; port: number | undefined; at: number; forMerchant: string }): Promise<Located | undefined> {
  const { address, port, at } = input;
  if (port === undefined && sessions.isShared(address, at)) return undefined;
  const binding = sessions.resolve(address, at, port);
  if (!binding) return undefined;
  const rows = await holderSessionForMerchantUntranslated.all(store.db, store.dialect, [at, at, address, input.forMerchant, input.forMerchant, binding.sessionId]);
  const session = rows[0];
  if (!session || session.translated) return undefined;
  return located(input, binding, session, rows, undefined);
}

type Located = { resolution: Resolution; sessionEndedAt: number | null; subscriber: HolderSubscriber | null; merchantNetworks: string[] };

function located(input: { address: string; port: number | undefined; at: number }, binding: NonNullable<ReturnType<SessionService['resolve']>>, session: HolderRow, forMerchant: HolderRowForMerchant[] | null, translation: Resolution['translation']): Located {
  const { address, at } = input;
  const resolution: Resolution = {
    address, port: input.port ?? null, at: new Date(at).toISOString(),
    subscriber: { id: session.subscriber_id, login: session.login },
    session: { id: session.id, status: session.status, nas: session.nas, nasPort: session.nas_port, acctSessionId: session.acct_session_id },
    binding: { id: binding.id, start: toIso(binding.start)!, end: toIso(binding.end), portFirst: binding.portFirst ?? null, portLast: binding.portLast ?? null, prefix: binding.prefixLength !== undefined ? `${binding.address}/${binding.prefixLength}` : null },
    ...(translation ? { translation } : {}),
  };
  const first = forMerchant?.[0];
  const subscriber: HolderSubscriber | null = first && first.subscriber_status !== null && first.subscriber_currency !== null && first.release_to_merchant !== null
    ? { status: first.subscriber_status, currency: first.subscriber_currency, auto_approve_limit: first.auto_approve_limit, release_to_merchant: first.release_to_merchant, channel_mode: first.channel_mode, spent_session_seconds: first.spent_session_seconds }
    : null;
  const merchantNetworks = (forMerchant ?? []).flatMap((r) => (r.merchant_network === null ? [] : [r.merchant_network]));
  return { resolution, sessionEndedAt: session.ended_at, subscriber, merchantNetworks };
}

/** Operator API routes of the authentication server. */
export function resolutionRoutes(sessions: SessionService, store: Store) {
  const sessionViews = new SessionProvisioning(store);
  return (app: FastifyInstance): void => {
    app.get('/resolve', async (req) => {
      const q = req.query as { address?: string; port?: string; at?: string };
      if (!q.address) throw new SidebandError('REQUEST_INVALID', 'address is required.', { param: 'address' });
      if (q.port !== undefined && !/^\d{1,5}$/.test(q.port)) throw new SidebandError('REQUEST_INVALID', 'port must be 0 to 65535.', { param: 'port' });
      return resolveHolder(sessions, store, { address: q.address, port: q.port === undefined ? undefined : Number(q.port), at: parseTime(q.at) });
    });
    /** Sessions not closed, most recently heard from first, each with the address (and port block) it holds. */
    app.get('/sessions', async (req) => {
      const q = req.query as { login?: string; limit?: string };
      let query = store.db.selectFrom('sessions').innerJoin('nas_clients', 'nas_clients.id', 'sessions.nas_id')
        .leftJoin('bindings', (join) => join.onRef('bindings.session_id', '=', 'sessions.id').on('bindings.end_at', 'is', null))
        .select(['sessions.id', 'sessions.login', 'sessions.status', 'sessions.started_at', 'sessions.authorized_at', 'sessions.last_seen_at', 'sessions.input_octets', 'sessions.output_octets', 'nas_clients.name as nas', 'bindings.address', 'bindings.port_first', 'bindings.port_last'])
        .where('sessions.status', '!=', 'closed').orderBy('sessions.last_seen_at', 'desc').limit(Math.min(Math.max(Number(q.limit ?? 200) || 200, 1), 1000));
      if (q.login) query = query.where('sessions.login', '=', q.login);
      const rows = await query.execute();
      return { data: rows.map((r) => ({ id: r.id, login: r.login, status: r.status, nas: r.nas, address: r.address, portFirst: r.port_first, portLast: r.port_last, since: toIso(r.started_at ?? r.authorized_at), lastSeenAt: toIso(r.last_seen_at), inputOctets: r.input_octets, outputOctets: r.output_octets })) };
    });
    /** Addresses (or address and port blocks) held per pool, from this gateway's allocation state. */
    app.get('/pools/usage', async () => ({ data: sessions.poolUsage() }));
    // The session's accounting, bindings, anomalies and dynamic authorizations (provisioning/sessions.ts).
    app.get('/sessions/:id', async (req) => sessionViews.show((req.params as { id: string }).id));
  };
}
