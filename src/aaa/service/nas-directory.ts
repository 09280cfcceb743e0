import { cidrContains, parseCidr, type Cidr } from '../../core/network/cidr.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Store } from '../../store/open-store.ts';
import type { Vault } from '../../vault/vault.ts';

export interface NasClient {
  id: string;
  name: string;
  range: Cidr;
  secret: Buffer;
  requireMessageAuthenticator: boolean;
  poolId: string | null;
  framedIpv6PoolId: string | null;
  delegatedIpv6PoolId: string | null;
  /** Where it takes Disconnect- and CoA-Requests (RFC 5176 §3.4). */
  coaPort: number;
  /** Where it takes them when not at its own address (`sideband nas update --coa-address`). */
  coaAddress: string | null;
  /** RadSec (RFC 6614): its client certificate's SHA-256, 64 lowercase hex digits. */
  tlsFingerprint: string | null;
  /** RadSec: the name a certificate from the configured CA must carry. */
  tlsName: string | null;
  /** Set on the view a RadSec connection serves it through (radsec-listener.ts). */
  overTls?: boolean;
}

/**
 * The registered NAS clients, matched by source address (longest prefix wins). Secrets
 * are opened from the vault once per load. Clients added while the gateway runs are
 * picked up by a periodic reload and, at most once a second, when an unknown source
 * sends.
 */
export class NasDirectory {
  private clients: NasClient[] = [];
  private bySource = new Map<string, NasClient | null>();
  private lastReload = 0;
  private reloading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<void> {
    const rows = await this.store.db.selectFrom('nas_clients').selectAll().where('removed_at', 'is', null).execute();
    const known = new Map(this.clients.map((c) => [c.id, c]));
    const next: NasClient[] = [];
    for (const row of rows) {
      const had = known.get(row.id);
      const secret = had?.secret ?? Buffer.from((await this.vault.open<{ secret: string }>(row.secret_record_id, 'radius-nas-secret', 'radius')).secret, 'utf8');
      next.push({ id: row.id, name: row.name, range: parseCidr(row.address), secret, requireMessageAuthenticator: row.require_message_authenticator === 1, poolId: row.pool_id, framedIpv6PoolId: row.framed_ipv6_pool_id, delegatedIpv6PoolId: row.delegated_ipv6_pool_id, coaPort: row.coa_port,
        coaAddress: row.coa_address, tlsFingerprint: row.tls_fingerprint, tlsName: row.tls_name,
      });
    }
    next.sort((a, b) => b.range.prefix - a.range.prefix);
    this.clients = next;
    this.bySource.clear();
    this.lastReload = Date.now();
  }

  /** The client for a source address, or null for an unregistered source. */
  lookup(source: string): NasClient | null {
    let hit = this.bySource.get(source);
    if (hit === undefined) {
      hit = this.clients.find((c) => cidrContains(c.range, source)) ?? null;
      // Bounded: a flood from many spoofed sources must not grow this without limit.
      if (this.bySource.size > 10_000) this.bySource.clear();
      this.bySource.set(source, hit);
      if (hit === null) this.reloadSoon();
    }
    return hit;
  }

  /** The registered clients, most specific range first. */
  get all(): readonly NasClient[] {
    return this.clients;
  }

  byId(id: string): NasClient | undefined {
    return this.clients.find((c) => c.id === id);
  }

  /**
   * Reads the clients again now (another process added or removed one). A call while a
   * read is under way asks for one more after it, since that read may have begun before
   * the change committed.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.load()
      .catch((e) => this.logger.error({ err: e }, 'reloading NAS clients failed'))
      .finally(() => {
        this.reloading = null;
        if (this.again) {
          this.again = false;
          void this.reload();
        }
      });
    return this.reloading;
  }

  reloadSoon(): void {
    if (this.reloading || Date.now() - this.lastReload < 1000) return;
    void this.reload();
  }
}
