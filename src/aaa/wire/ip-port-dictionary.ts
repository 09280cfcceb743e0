import type { ExtendedAttributeId } from './extended-attribute.ts';

/**
 * RFC 8045's attributes (§3), in the Extended-Attribute-1 space of RFC 6929, by the names
 * FreeRADIUS's `dictionary.rfc8045` gives them. Each is of data type "tlv".
 */
export const ipPortAttributes = {
  // RFC 8045 §3.1: the most ports a subscriber may use.
  'IP-Port-Limit-Info': { type: 241, extendedType: 5 },
  // RFC 8045 §3.2: a range of external ports, allocated or released.
  'IP-Port-Range': { type: 241, extendedType: 6 },
  // RFC 8045 §3.3: one port forwarding mapping.
  'IP-Port-Forwarding-Map': { type: 241, extendedType: 7 },
} as const satisfies Record<string, ExtendedAttributeId>;

export type IpPortAttributeName = keyof typeof ipPortAttributes;

/**
 * RFC 8045 §3: the TLVs any of the three may carry, by TLV-Type. FreeRADIUS names each
 * again under its parent (IP-Port-Range-Range-Start is 241.6.9); the numbers are shared.
 * Integer TLVs are four octets, the IPFIX value "right justified, and unused bits MUST
 * be set to zero".
 */
export const IpPortTlv = {
  'IP-Port-Type': 1,
  'IP-Port-Limit': 2,
  'IP-Port-Ext-IPv4-Addr': 3,
  'IP-Port-Int-IPv4-Addr': 4,
  'IP-Port-Int-IPv6-Addr': 5,
  'IP-Port-Int-Port': 6,
  'IP-Port-Ext-Port': 7,
  'IP-Port-Alloc': 8,
  'IP-Port-Range-Start': 9,
  'IP-Port-Range-End': 10,
  'IP-Port-Local-Id': 11,
} as const;

// IP-Port-Alloc's values, with FreeRADIUS's VALUE names.
export const IpPortAlloc = {
  'Reserved': 0,
  'Allocation': 1,
  'Deallocation': 2,
} as const;
