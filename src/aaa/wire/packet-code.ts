/**
 * The RADIUS packet kinds Sideband speaks: RFC 2865 §3 and §4, RFC 2866 §4, RFC 5997 §3,
 * and RFC 5176 §2 (dynamic authorization, which Sideband sends to a NAS). A closed set: any other Code is dropped on reception (RFC 2865 §3: "Packets with an
 * invalid Code field MUST be silently discarded").
 */
export const PacketCode = {
  'Access-Request': 1,
  'Access-Accept': 2,
  'Access-Reject': 3,
  'Accounting-Request': 4,
  'Accounting-Response': 5,
  'Access-Challenge': 11,
  'Status-Server': 12,
  // RFC 5176 §3: "Disconnect-Request 40, Disconnect-ACK 41, Disconnect-NAK 42, CoA-Request 43, CoA-ACK 44, CoA-NAK 45".
  'Disconnect-Request': 40,
  'Disconnect-ACK': 41,
  'Disconnect-NAK': 42,
  'CoA-Request': 43,
  'CoA-ACK': 44,
  'CoA-NAK': 45,
} as const;

export type PacketCodeName = keyof typeof PacketCode;

export type RequestCodeName = 'Access-Request' | 'Accounting-Request' | 'Status-Server' | DynamicAuthorizationRequestCode;

/** RFC 5176 §2: the requests a Dynamic Authorization Client (Sideband) sends to a NAS. */
export type DynamicAuthorizationRequestCode = 'Disconnect-Request' | 'CoA-Request';
export type ResponseCodeName = Exclude<PacketCodeName, RequestCodeName>;

/** Indexed by the Code octet; `undefined` for codes outside the closed set. */
const nameByCode: readonly (PacketCodeName | undefined)[] = (() => {
  const table = new Array<PacketCodeName | undefined>(256).fill(undefined);
  for (const [name, code] of Object.entries(PacketCode)) table[code] = name as PacketCodeName;
  return table;
})();

export function packetCodeName(code: number): PacketCodeName | undefined {
  return nameByCode[code];
}

export function isRequestCode(name: PacketCodeName): name is RequestCodeName {
  return name === 'Access-Request' || name === 'Accounting-Request' || name === 'Status-Server' || name === 'Disconnect-Request' || name === 'CoA-Request';
}
