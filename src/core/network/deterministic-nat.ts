import { ipv4Size, parseCidr, type Cidr } from './cidr.ts';

/**
 * A deterministic NAT (RFC 7422 §2): every inside address of `inside` has, always, the
 * same `portsPerSubscriber` ports of one address of `outside`, computed rather than
 * logged, so that "who used outside A:P" needs no record from the NAT at all.
 *
 * Inside addresses are taken in order and spread over the outside addresses first, then
 * over the port ranges: inside address i gets outside address i mod N (N outside
 * addresses) and port range ⌊i / N⌋, whose first port is `firstPort + range ×
 * portsPerSubscriber`. Ports below `firstPort` (by default the system ports 0–1023) are
 * never mapped. The NAT must be configured with the same ranges and parameters.
 *
 * @example
 * const nat = new DeterministicNat({ inside: '100.64.0.0/24', outside: '198.51.100.0/30', portsPerSubscriber: 1000 });
 * nat.forward('100.64.0.5');          // { address: '198.51.100.1', first: 2024, last: 3023 }
 * nat.reverse('198.51.100.1', 2500);  // '100.64.0.5'
 */
export interface DeterministicNatSpec {
  readonly inside: string;
  readonly outside: string;
  readonly portsPerSubscriber: number;
  readonly firstPort?: number;
}

export interface OutsidePorts {
  readonly address: string;
  readonly first: number;
  readonly last: number;
}

/** Why a mapping cannot be built; the provisioning layer turns each into an error code. */
export type DeterministicNatFault = 'not-ipv4' | 'ports-invalid' | 'too-many-inside';

export class DeterministicNatError extends Error {
  constructor(
    readonly fault: DeterministicNatFault,
    message: string,
  ) {
    super(message);
  }
}

const toInt = (address: string): number => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toText = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export class DeterministicNat {
  readonly inside: Cidr;
  readonly outside: Cidr;
  readonly portsPerSubscriber: number;
  readonly firstPort: number;
  /** Port ranges per outside address. */
  readonly rangesPerAddress: number;
  private readonly insideBase: number;
  private readonly insideCount: number;
  private readonly outsideBase: number;
  private readonly outsideCount: number;

  /** Throws CIDR_INVALID (a SidebandError) for a bad range, DeterministicNatError for the rest. */
  constructor(spec: DeterministicNatSpec) {
    this.inside = parseCidr(spec.inside, 'inside');
    this.outside = parseCidr(spec.outside, 'outside');
    if (this.inside.family !== 4 || this.outside.family !== 4) throw new DeterministicNatError('not-ipv4', 'Deterministic NAT maps IPv4 inside addresses to IPv4 outside addresses (RFC 7422).');
    this.firstPort = spec.firstPort ?? 1024;
    this.portsPerSubscriber = spec.portsPerSubscriber;
    if (!Number.isInteger(this.firstPort) || this.firstPort < 1 || this.firstPort > 65535) throw new DeterministicNatError('ports-invalid', 'The first port must be 1 to 65535.');
    if (!Number.isInteger(this.portsPerSubscriber) || this.portsPerSubscriber < 1 || this.portsPerSubscriber > 65536 - this.firstPort) {
      throw new DeterministicNatError('ports-invalid', `Ports per subscriber must be 1 to ${65536 - this.firstPort} (the ports from ${this.firstPort}).`);
    }
    this.rangesPerAddress = Math.floor((65536 - this.firstPort) / this.portsPerSubscriber);
    this.insideBase = toInt(this.inside.range[0].toString());
    this.insideCount = ipv4Size(this.inside);
    this.outsideBase = toInt(this.outside.range[0].toString());
    this.outsideCount = ipv4Size(this.outside);
    const capacity = this.outsideCount * this.rangesPerAddress;
    if (this.insideCount > capacity) {
      throw new DeterministicNatError('too-many-inside', `${this.inside.text} has ${this.insideCount} addresses; ${this.outside.text} with ${this.portsPerSubscriber} ports each from ${this.firstPort} serves ${capacity}.`);
    }
  }

  /** The outside address and ports of an inside address, or undefined outside `inside`. */
  forward(insideAddress: string): OutsidePorts | undefined {
    const i = toInt(insideAddress) - this.insideBase;
    if (!Number.isInteger(i) || i < 0 || i >= this.insideCount) return undefined;
    const range = Math.floor(i / this.outsideCount);
    const first = this.firstPort + range * this.portsPerSubscriber;
    return { address: toText(this.outsideBase + (i % this.outsideCount)), first, last: first + this.portsPerSubscriber - 1 };
  }

  /** Whether `address` is one of the outside addresses. */
  coversOutside(address: string): boolean {
    const o = toInt(address) - this.outsideBase;
    return Number.isInteger(o) && o >= 0 && o < this.outsideCount;
  }

  /** The inside address that used outside `address`:`port`, or undefined when none does. */
  reverse(address: string, port: number): string | undefined {
    const o = toInt(address) - this.outsideBase;
    if (!Number.isInteger(o) || o < 0 || o >= this.outsideCount || port < this.firstPort || port > 65535) return undefined;
    const range = Math.floor((port - this.firstPort) / this.portsPerSubscriber);
    if (range >= this.rangesPerAddress) return undefined;
    const i = range * this.outsideCount + o;
    return i < this.insideCount ? toText(this.insideBase + i) : undefined;
  }
}
