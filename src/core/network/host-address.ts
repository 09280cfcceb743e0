/**
 * Whether an IPv4 address (dotted decimal) can be one host's address on the access network.
 * RFC 2865 §5.8 gives Framed-IP-Address two values that are not addresses: 0xFFFFFFFF
 * ("the user [may] select an address") and 0xFFFFFFFE ("the NAS should select"); a NAS
 * also reports 0.0.0.0 before IPCP or DHCP has settled. None of those, nor "this network"
 * (0/8, RFC 1122), loopback (127/8), multicast (224/4) or the reserved 240/4 (RFC 1112,
 * RFC 6890), is a host one subscriber holds: taken for one, two sessions would claim it.
 */
export function isHostIpv4(address: string): boolean {
  const first = Number(address.slice(0, address.indexOf('.')));
  return Number.isInteger(first) && first !== 0 && first !== 127 && first < 224;
}
