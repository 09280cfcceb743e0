import { parseIpv6Prefix } from '../../core/network/ipv6-prefix.ts';
import { prefixClaim, type PrefixPlace } from './prefix-claim.ts';
import { ipv4Layout, ipv6PrefixLayout, type AllocatedUnit, type UnitLayout } from './unit-layout.ts';

export type { AllocatedUnit } from './unit-layout.ts';

/**
 * One pool's allocation state, in memory and without I/O: which units (an address, under
 * carrier-grade NAT an address and a block of source ports, or in an IPv6 pool a prefix
 * of the pool's unit length) are free, held by an open session, or resting in hold-down
 * after release. The store is the truth — a unit is held once its binding row is
 * committed, and the unique open_key on bindings refuses a second holder — and this state
 * is rebuilt from it at start.
 */

const FREE = 0;
const HELD = 1;
const RESTING = 2;

export class AddressPool {
  readonly size: number;
  private readonly layout: UnitLayout;
  private readonly state: Uint8Array;
  /** Free unit indices; may hold stale entries, skipped when their state is not FREE. */
  private free: number[] = [];
  private freeHead = 0;
  /** Released units in release order, with the time each may return to the free list. */
  private resting: Array<{ unit: number; until: number }> = [];
  private restingHead = 0;
  private heldCount = 0;

  /** `prefixLength`: an IPv6 pool's unit, the length of the prefixes it carves from `cidr`. */
  constructor(
    readonly name: string,
    cidr: string,
    readonly portsPerBlock: number | null,
    private readonly holdDownMs: number,
    readonly prefixLength: number | null = null,
  ) {
    this.layout = cidr.includes(':') ? ipv6PrefixLayout(name, cidr, prefixLength) : ipv4Layout(cidr, portsPerBlock);
    this.size = this.layout.size;
    this.state = new Uint8Array(this.size);
    // Hand units out address by address, so a small test pool is used from its start.
    for (let u = 0; u < this.size; u++) this.free.push(u);
  }

  get held(): number {
    return this.heldCount;
  }

  /** Whether this pool carves IPv6 prefixes. */
  get isIpv6(): boolean {
    return this.layout.family === 6;
  }

  /** The unit of an address (and port block), or of an IPv6 prefix `address/prefixLength`; undefined when it is not one of this pool's. */
  unitOf(address: string, portFirst: number | null, prefixLength: number | null = null): number | undefined {
    return this.layout.unitOf(address, portFirst, prefixLength);
  }

  /** Whether the pool's range covers the IPv6 prefix, unit or not. */
  covers(prefix: string): boolean {
    return this.layout.covers(prefix);
  }

  /** An IPv6 pool's range and unit length. */
  get place(): PrefixPlace | undefined {
    return this.layout.place;
  }

  /**
   * The units an IPv6 prefix of any length inside the range overlaps (`prefix-claim.ts`):
   * the one containing a longer prefix, each one a shorter prefix covers; none when the
   * range does not cover it or it covers too many to bind.
   */
  unitsTouching(network: string, length: number): number[] {
    const prefix = parseIpv6Prefix(`${network}/${length}`);
    const place = this.layout.place;
    if (!place || !prefix || !this.layout.covers(prefix.text)) return [];
    const claim = prefixClaim(place, prefix);
    if (!claim) return [];
    return Array.from({ length: claim.unitCount }, (_, i) => claim.firstUnit + i);
  }

  describe(unit: number): AllocatedUnit {
    return this.layout.describe(unit);
  }

  private promoteRested(now: number): void {
    while (this.restingHead < this.resting.length && this.resting[this.restingHead]!.until <= now) {
      const { unit } = this.resting[this.restingHead++]!;
      if (this.state[unit] === RESTING) {
        this.state[unit] = FREE;
        this.free.push(unit);
      }
    }
    if (this.restingHead > 4096 && this.restingHead * 2 > this.resting.length) {
      this.resting = this.resting.slice(this.restingHead);
      this.restingHead = 0;
    }
  }

  /**
   * Takes a unit: `preferred` (the subscriber's previous one on the same NAS port) when
   * it is free or resting, else the longest-free unit. Undefined when the pool is empty.
   */
  take(now: number, preferred?: number): number | undefined {
    this.promoteRested(now);
    if (preferred !== undefined && preferred < this.size && this.state[preferred] !== HELD) {
      this.state[preferred] = HELD;
      this.heldCount++;
      return preferred;
    }
    while (this.freeHead < this.free.length) {
      const unit = this.free[this.freeHead++]!;
      if (this.state[unit] === FREE) {
        this.state[unit] = HELD;
        this.heldCount++;
        this.compactFree();
        return unit;
      }
    }
    this.compactFree();
    return undefined;
  }

  private compactFree(): void {
    if (this.freeHead > 4096 && this.freeHead * 2 > this.free.length) {
      this.free = this.free.slice(this.freeHead);
      this.freeHead = 0;
    }
  }

  /** Marks a unit held without taking it from the free list (rebuild, or a NAS's own choice). */
  markHeld(unit: number): void {
    if (this.state[unit] !== HELD) {
      this.state[unit] = HELD;
      this.heldCount++;
    }
  }

  /** Returns a unit after its session ended; it rests for the hold-down before reuse. */
  release(unit: number, now: number, restUntil = now + this.holdDownMs): void {
    if (this.state[unit] !== HELD) return;
    this.heldCount--;
    this.state[unit] = RESTING;
    this.resting.push({ unit, until: restUntil });
  }

  /** Undoes a take whose binding could not be written: the unit is free again at once. */
  giveBack(unit: number): void {
    if (this.state[unit] !== HELD) return;
    this.heldCount--;
    this.state[unit] = FREE;
    this.free.push(unit);
  }
}

export { ipv4ToInt, intToIpv4 } from './unit-layout.ts';
