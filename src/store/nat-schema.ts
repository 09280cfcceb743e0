/**
 * Tables of migration 0017 (docs/radius.md, "Port blocks and the NAT"): the port ranges
 * NAT devices reported in accounting, and deterministic NAT mappings (RFC 7422).
 */

/** One IP-Port-Range (RFC 8045 §3.2) from an Accounting-Request, applied or refused. */
export interface PortRangeReportTable {
  id: string;
  session_id: string;
  nas_id: string;
  alloc: 'allocation' | 'deallocation';
  /** The external address and ports reported; address null when the report named none. */
  address: string | null;
  port_first: number;
  port_last: number;
  /** `applied`, `unchanged`, or `refused`. */
  outcome: string;
  /** Why it was refused (a PortRangeRefusal), else null. */
  cause: string | null;
  /** The binding it ended and the one it began, when applied. */
  ended_binding_id: string | null;
  began_binding_id: string | null;
  event_at: number;
  received_at: number;
}

/**
 * An RFC 7422 deterministic NAT: inside addresses `inside_cidr`, in order, each get
 * `ports_per_subscriber` ports of the outside addresses `outside_cidr` from `first_port`.
 * Valid from `created_at` until `removed_at` (null while in force).
 */
export interface DeterministicNatTable {
  id: string;
  name: string;
  inside_cidr: string;
  outside_cidr: string;
  ports_per_subscriber: number;
  first_port: number;
  created_at: number;
  removed_at: number | null;
}
