/**
 * One pool's allocation state, in memory and without I/O: which units (an address, or
 * under carrier-grade NAT an address and a block of source ports) are free, held by an
 * open session, or resting in hold-down after release. The store is the truth — a unit
 * is held once its binding row is committed, and the unique open_key on bindings refuses
 * a second holder — and this state is rebuilt from it at start.
 */
export interface AllocatedUnit {
  address: string;
  /** Under CGNAT: the first and last source port of the block; else null. */
  portFirst: number | null;
  portLast: number | null;
  /** The store's uniqueness key for an open binding of this unit. */
  openKey: string;
}

const FREE = 0;
const HELD = 1;
const RESTING = 2;

/** RFC 6890 leaves 0–1023 as system ports; CGNAT blocks start above them. */
const FIRST_PORT = 1024;

export class AddressPool {
  readonly size: number;
  private readonly base: number;
  private readonly blocksPerAddress: number;
  private readonly state: Uint8Array;
  /** Free unit indices; may hold stale entries, skipped when their state is not FREE. */
  private free: number[] = [];
  private freeHead = 0;
  /** Released units in release order, with the time each may return to the free list. */
  private resting: Array<{ unit: number; until: number }> = [];
  private restingHead = 0;
  private heldCount = 0;

  constructor(
    readonly name: string,
    cidr: string,
    readonly portsPerBlock: number | null,
    private readonly holdDownMs: number,
  ) {
    const [net, prefixText] = cidr.split('/');
    const prefix = Number(prefixText);
    if (!net || net.includes(':')) throw new Error(`pool ${name}: only IPv4 pools allocate addresses one by one`);
    const addresses = 2 ** (32 - prefix);
    // Keep the network and broadcast addresses out of pools of /30 and larger.
    const skipEdges = prefix <= 30 ? 1 : 0;
    this.base = ipv4ToInt(net) + skipEdges;
    const usable = addresses - 2 * skipEdges;
    this.blocksPerAddress = portsPerBlock ? Math.floor((65536 - FIRST_PORT) / portsPerBlock) : 1;
    this.size = usable * this.blocksPerAddress;
    this.state = new Uint8Array(this.size);
    // Hand units out address by address, so a small test pool is used from its start.
    for (let u = 0; u < this.size; u++) this.free.push(u);
  }

  get held(): number {
    return this.heldCount;
  }

  unitOf(address: string, portFirst: number | null): number | undefined {
    const offset = ipv4ToInt(address) - this.base;
    const usable = this.size / this.blocksPerAddress;
    if (!Number.isInteger(offset) || offset < 0 || offset >= usable) return undefined;
    const block = this.portsPerBlock && portFirst !== null ? Math.floor((portFirst - FIRST_PORT) / this.portsPerBlock) : 0;
    if (block < 0 || block >= this.blocksPerAddress) return undefined;
    return offset * this.blocksPerAddress + block;
  }

  describe(unit: number): AllocatedUnit {
    const offset = Math.floor(unit / this.blocksPerAddress);
    const block = unit % this.blocksPerAddress;
    const address = intToIpv4(this.base + offset);
    if (!this.portsPerBlock) return { address, portFirst: null, portLast: null, openKey: address };
    const portFirst = FIRST_PORT + block * this.portsPerBlock;
    const portLast = portFirst + this.portsPerBlock - 1;
    return { address, portFirst, portLast, openKey: `${address}:${portFirst}` };
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

export function ipv4ToInt(address: string): number {
  const p = address.split('.');
  if (p.length !== 4) return NaN;
  let n = 0;
  for (const part of p) {
    const v = Number(part);
    if (!Number.isInteger(v) || v < 0 || v > 255 || part === '') return NaN;
    n = n * 256 + v;
  }
  return n;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
