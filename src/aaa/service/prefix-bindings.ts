import { ipv6PrefixAt, parseIpv6Prefix, type Ipv6Prefix } from '../../core/network/ipv6-prefix.ts';
import { prefixClaim, type PrefixPlace } from '../allocation/prefix-claim.ts';
import type { Tx } from '../../store/open-store.ts';
import type { PrefixBindingKind, PrefixBindingTable } from '../../store/schema.ts';

/**
 * The IPv6 prefixes of a session's bindings, beside its IPv4 binding (`bindings`):
 * Framed-IPv6-Prefix (RFC 3162 §2.3), Delegated-IPv6-Prefix (RFC 4818 §3) and
 * Framed-IPv6-Address (RFC 6911 §3.1, kept as a /128). Every write here runs inside the
 * group commit's transactions and is safe to run twice.
 */

/** A prefix an Accounting-Request reports. */
export interface ReportedPrefix {
  kind: PrefixBindingKind;
  prefix: Ipv6Prefix;
}

/**
 * Why a reported prefix did not become a binding; counted and logged, nothing else written.
 * `held-by-another`: another session's open binding overlaps it at any length (its unit,
 * a prefix inside the unit, or one covering it); `covers-too-many-units`: it is shorter
 * than its pool's unit by more than MAX_COVERED_UNITS_BITS (`prefix-claim.ts`).
 */
export type UnboundReason = 'outside-pools' | 'held-by-another' | 'covers-too-many-units';

export interface UnboundPrefix {
  kind: PrefixBindingKind;
  prefix: string;
  reason: UnboundReason;
}

/** What the NAS reported, as prefixes; a value that is no IPv6 prefix is left out. */
export function reportedPrefixes(f: { framedIpv6Prefix?: string | null; delegatedIpv6Prefix?: string | null; framedIpv6Address?: string | null }): ReportedPrefix[] {
  const out: ReportedPrefix[] = [];
  const add = (kind: PrefixBindingKind, text: string | null | undefined): void => {
    const prefix = text ? parseIpv6Prefix(text) : undefined;
    if (prefix && prefix.length > 0) out.push({ kind, prefix });
  };
  add('framed-ipv6-prefix', f.framedIpv6Prefix);
  add('delegated-ipv6-prefix', f.delegatedIpv6Prefix);
  add('framed-ipv6-address', f.framedIpv6Address ? `${f.framedIpv6Address}/128` : null);
  return out;
}

/**
 * On PostgreSQL, where other gateways bind from the same pools: until when the prefix
 * rests (Infinity while bound, the end of its hold-down after release) because of a
 * session this gateway's memory does not know of yet, or null when it is free — the
 * IPv6 twin of SessionService's `restingElsewhere`, read from the latest binding of the
 * prefix (one row from the (network, prefix_length, start_at) index).
 */
export async function prefixRestingElsewhere(tx: Tx, network: string, length: number, subscriberId: string, now: number, holdDownMs: number): Promise<number | null> {
  const last = await tx
    .selectFrom('prefix_bindings')
    .innerJoin('sessions', 'sessions.id', 'prefix_bindings.session_id')
    .select(['prefix_bindings.end_at', 'sessions.subscriber_id'])
    .where('prefix_bindings.network', '=', network)
    .where('prefix_bindings.prefix_length', '=', length)
    .orderBy('prefix_bindings.start_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (last?.end_at === null || (await coveredElsewhere(tx, network, length))) return Infinity;
  if (!last) return null;
  if (last.end_at + holdDownMs <= now || last.subscriber_id === subscriberId) return null;
  return last.end_at + holdDownMs;
}

/**
 * Whether an open binding of a prefix shorter than this unit covers it: a NAS's own
 * prefix spanning several units (`bindReported`) claims them by its own text, which the
 * unit's open_key cannot meet in the unique index. One indexed look-up of at most
 * `length` keys.
 */
async function coveredElsewhere(tx: Tx, network: string, length: number): Promise<boolean> {
  const unit = parseIpv6Prefix(`${network}/${length}`);
  if (!unit) return false;
  const shift = (l: number): bigint => BigInt(128 - l);
  const keys = Array.from({ length }, (_, l) => ipv6PrefixAt(l === 0 ? 0n : (unit.value >> shift(l)) << shift(l), l).text);
  if (keys.length === 0) return false;
  return (await tx.selectFrom('prefix_bindings').select('id').where('open_key', 'in', keys).limit(1).executeTakeFirst()) !== undefined;
}

export interface BindReported {
  sessionId: string;
  /** The session's prefix bindings as read for this change. */
  held: PrefixBindingTable[];
  reported: ReportedPrefix[];
  /** When the NAS says the session held them from, and until (null while open). */
  start: number;
  end: number | null;
  /** The range and unit length of the Sideband pool whose range covers the prefix, if any. */
  placeOf: (prefix: Ipv6Prefix) => PrefixPlace | undefined;
  /** Ids chosen before the transaction's first run, one per reported prefix. */
  ids: string[];
}

/**
 * Makes what the NAS reports the session's bindings: a prefix it allocated itself (or one
 * of ours it echoes) becomes a binding when a Sideband pool covers it and no other
 * session's open binding overlaps it at any length; one that replaces an open prefix of
 * the same kind ends that one where the new one starts. A prefix longer than its pool's
 * unit claims the containing unit (its open_key is the unit's), one shorter claims every
 * unit it covers (all must be free). Every check runs in this transaction before the
 * first write, so a refused prefix writes nothing. Returns the prefixes left unbound, and why.
 */
export async function bindReported(tx: Tx, input: BindReported): Promise<UnboundPrefix[]> {
  const unbound: UnboundPrefix[] = [];
  for (const [i, { kind, prefix }] of input.reported.entries()) {
    const open = input.held.filter((b) => b.kind === kind && b.end_at === null);
    if (open.some((b) => b.network === prefix.network && b.prefix_length === prefix.length)) continue;
    // Run twice, the first run's row is found by its id.
    if (await tx.selectFrom('prefix_bindings').select('id').where('id', '=', input.ids[i]!).executeTakeFirst()) continue;
    const place = input.placeOf(prefix);
    if (!place) {
      unbound.push({ kind, prefix: prefix.text, reason: 'outside-pools' });
      continue;
    }
    const claim = prefixClaim(place, prefix);
    if (!claim) {
      unbound.push({ kind, prefix: prefix.text, reason: 'covers-too-many-units' });
      continue;
    }
    const holders = await tx.selectFrom('prefix_bindings').select(['id', 'session_id', 'open_key']).where('open_key', 'in', claim.overlapKeys).execute();
    if (holders.some((h) => h.session_id !== input.sessionId)) {
      unbound.push({ kind, prefix: prefix.text, reason: 'held-by-another' });
      continue;
    }
    // The session holds this very prefix already, under another attribute.
    if (holders.some((h) => h.open_key === prefix.text)) continue;
    for (const b of open) await tx.updateTable('prefix_bindings').set({ end_at: Math.max(b.start_at, input.start), open_key: null }).where('id', '=', b.id).execute();
    // A unit the session goes on holding by another binding (its Framed-IPv6-Address inside
    // its Framed-IPv6-Prefix) keeps that binding's key; this one takes its own text.
    const ending = new Set(open.map((b) => b.id));
    const unitKept = claim.key !== prefix.text && holders.some((h) => h.open_key === claim.key && !ending.has(h.id));
    const openKey = input.end !== null ? null : unitKept ? prefix.text : claim.key;
    await tx
      .insertInto('prefix_bindings')
      .values({ id: input.ids[i]!, session_id: input.sessionId, kind, network: prefix.network, prefix_length: prefix.length, start_at: input.start, end_at: input.end, open_key: openKey })
      .execute();
  }
  return unbound;
}
