/**
 * Data types of RFC 2865 §5 ("text", "string", "address", "integer", "time"), RFC 3162 §2
 * ("ipv6addr", "ipv6prefix", "ifid") and RFC 2865 §5.26 ("vsa"); RFC 8044 names the same
 * set, calling "address" "ipv4addr".
 */
export type DataType = 'text' | 'string' | 'address' | 'integer' | 'time' | 'ipv6addr' | 'ipv6prefix' | 'ifid' | 'vsa';

export interface AttributeDefinition {
  readonly type: number;
  readonly dataType: DataType;
}

/**
 * Standard attributes by the name their RFC gives them. Where RFC 2865 says only "String"
 * for an attribute that carries UTF-8 in practice (Called-Station-Id, NAS-Identifier, …)
 * the type is "text", as in FreeRADIUS's dictionary, which radclient reads.
 */
export const attributeDictionary = {
  // RFC 2865 §5
  'User-Name': { type: 1, dataType: 'text' },
  'User-Password': { type: 2, dataType: 'string' },
  'CHAP-Password': { type: 3, dataType: 'string' },
  'NAS-IP-Address': { type: 4, dataType: 'address' },
  'NAS-Port': { type: 5, dataType: 'integer' },
  'Service-Type': { type: 6, dataType: 'integer' },
  'Framed-Protocol': { type: 7, dataType: 'integer' },
  'Framed-IP-Address': { type: 8, dataType: 'address' },
  'Framed-IP-Netmask': { type: 9, dataType: 'address' },
  'Framed-Routing': { type: 10, dataType: 'integer' },
  'Filter-Id': { type: 11, dataType: 'text' },
  'Framed-MTU': { type: 12, dataType: 'integer' },
  'Framed-Compression': { type: 13, dataType: 'integer' },
  'Login-IP-Host': { type: 14, dataType: 'address' },
  'Login-Service': { type: 15, dataType: 'integer' },
  'Login-TCP-Port': { type: 16, dataType: 'integer' },
  'Reply-Message': { type: 18, dataType: 'text' },
  'Callback-Number': { type: 19, dataType: 'text' },
  'Callback-Id': { type: 20, dataType: 'text' },
  'Framed-Route': { type: 22, dataType: 'text' },
  'Framed-IPX-Network': { type: 23, dataType: 'address' },
  'State': { type: 24, dataType: 'string' },
  'Class': { type: 25, dataType: 'string' },
  'Vendor-Specific': { type: 26, dataType: 'vsa' },
  'Session-Timeout': { type: 27, dataType: 'integer' },
  'Idle-Timeout': { type: 28, dataType: 'integer' },
  'Termination-Action': { type: 29, dataType: 'integer' },
  'Called-Station-Id': { type: 30, dataType: 'text' },
  'Calling-Station-Id': { type: 31, dataType: 'text' },
  'NAS-Identifier': { type: 32, dataType: 'text' },
  'Proxy-State': { type: 33, dataType: 'string' },
  'Login-LAT-Service': { type: 34, dataType: 'text' },
  'Login-LAT-Node': { type: 35, dataType: 'text' },
  'Login-LAT-Group': { type: 36, dataType: 'string' },
  'Framed-AppleTalk-Link': { type: 37, dataType: 'integer' },
  'Framed-AppleTalk-Network': { type: 38, dataType: 'integer' },
  'Framed-AppleTalk-Zone': { type: 39, dataType: 'text' },
  'CHAP-Challenge': { type: 60, dataType: 'string' },
  'NAS-Port-Type': { type: 61, dataType: 'integer' },
  'Port-Limit': { type: 62, dataType: 'integer' },
  'Login-LAT-Port': { type: 63, dataType: 'text' },

  // RFC 2866 §5
  'Acct-Status-Type': { type: 40, dataType: 'integer' },
  'Acct-Delay-Time': { type: 41, dataType: 'integer' },
  'Acct-Input-Octets': { type: 42, dataType: 'integer' },
  'Acct-Output-Octets': { type: 43, dataType: 'integer' },
  'Acct-Session-Id': { type: 44, dataType: 'text' },
  'Acct-Authentic': { type: 45, dataType: 'integer' },
  'Acct-Session-Time': { type: 46, dataType: 'integer' },
  'Acct-Input-Packets': { type: 47, dataType: 'integer' },
  'Acct-Output-Packets': { type: 48, dataType: 'integer' },
  'Acct-Terminate-Cause': { type: 49, dataType: 'integer' },
  'Acct-Multi-Session-Id': { type: 50, dataType: 'text' },
  'Acct-Link-Count': { type: 51, dataType: 'integer' },

  // RFC 2869 §5
  'Acct-Input-Gigawords': { type: 52, dataType: 'integer' },
  'Acct-Output-Gigawords': { type: 53, dataType: 'integer' },
  'Event-Timestamp': { type: 55, dataType: 'time' },
  'ARAP-Password': { type: 70, dataType: 'string' },
  'ARAP-Features': { type: 71, dataType: 'string' },
  'ARAP-Zone-Access': { type: 72, dataType: 'integer' },
  'ARAP-Security': { type: 73, dataType: 'integer' },
  'ARAP-Security-Data': { type: 74, dataType: 'text' },
  'Password-Retry': { type: 75, dataType: 'integer' },
  'Prompt': { type: 76, dataType: 'integer' },
  'Connect-Info': { type: 77, dataType: 'text' },
  'Configuration-Token': { type: 78, dataType: 'text' },
  'EAP-Message': { type: 79, dataType: 'string' },
  'Message-Authenticator': { type: 80, dataType: 'string' },
  'ARAP-Challenge-Response': { type: 84, dataType: 'string' },
  'Acct-Interim-Interval': { type: 85, dataType: 'integer' },
  'NAS-Port-Id': { type: 87, dataType: 'text' },
  'Framed-Pool': { type: 88, dataType: 'text' },

  // RFC 3162 §2
  'NAS-IPv6-Address': { type: 95, dataType: 'ipv6addr' },
  'Framed-Interface-Id': { type: 96, dataType: 'ifid' },
  'Framed-IPv6-Prefix': { type: 97, dataType: 'ipv6prefix' },
  'Login-IPv6-Host': { type: 98, dataType: 'ipv6addr' },
  'Framed-IPv6-Route': { type: 99, dataType: 'text' },
  'Framed-IPv6-Pool': { type: 100, dataType: 'text' },

  // RFC 4818 §3
  'Delegated-IPv6-Prefix': { type: 123, dataType: 'ipv6prefix' },

  // RFC 5176 §3.5
  'Error-Cause': { type: 101, dataType: 'integer' },

  // RFC 6911 §3
  'Framed-IPv6-Address': { type: 168, dataType: 'ipv6addr' },
  'DNS-Server-IPv6-Address': { type: 169, dataType: 'ipv6addr' },
  'Route-IPv6-Information': { type: 170, dataType: 'ipv6prefix' },
  'Delegated-IPv6-Prefix-Pool': { type: 171, dataType: 'text' },
  'Stateful-IPv6-Address-Pool': { type: 172, dataType: 'text' },
} as const satisfies Record<string, AttributeDefinition>;

export type AttributeName = keyof typeof attributeDictionary;

/** The names of the attributes whose data type is `D`, so that getters refuse the wrong kind. */
export type AttributeNameOf<D extends DataType> = {
  [N in AttributeName]: (typeof attributeDictionary)[N]['dataType'] extends D ? N : never;
}[AttributeName];

/** Indexed by the Type octet; `undefined` for types not in the dictionary. */
const nameByType: readonly (AttributeName | undefined)[] = (() => {
  const table = new Array<AttributeName | undefined>(256).fill(undefined);
  for (const [name, definition] of Object.entries(attributeDictionary)) table[definition.type] = name as AttributeName;
  return table;
})();

export function attributeName(type: number): AttributeName | undefined {
  return nameByType[type];
}
