/**
 * Named values of enumerated integer attributes. The RFCs list them in prose ("Callback
 * Login", "Wireless - IEEE 802.11"); the names here are FreeRADIUS's hyphenated spellings,
 * the ones NAS configurations, radclient input and debug output use. Encoders accept the
 * name or the number; decoders return the number, to compare with these.
 */
// RFC 2865 §5.6
export const ServiceType = {
  'Login-User': 1,
  'Framed-User': 2,
  'Callback-Login-User': 3,
  'Callback-Framed-User': 4,
  'Outbound-User': 5,
  'Administrative-User': 6,
  'NAS-Prompt-User': 7,
  'Authenticate-Only': 8,
  'Callback-NAS-Prompt': 9,
  'Call-Check': 10,
  'Callback-Administrative': 11,
  // RFC 5176 §3.2: a CoA-Request asking the NAS to re-authorize rather than change in place.
  'Authorize-Only': 17,
} as const;

// RFC 2865 §5.7
export const FramedProtocol = {
  'PPP': 1,
  'SLIP': 2,
  'ARAP': 3,
  'Gandalf-SLML': 4,
  'Xylogics-IPX-SLIP': 5,
  'X.75-Synchronous': 6,
} as const;

// RFC 2865 §5.29
export const TerminationAction = {
  'Default': 0,
  'RADIUS-Request': 1,
} as const;

// RFC 2865 §5.41
export const NASPortType = {
  'Async': 0,
  'Sync': 1,
  'ISDN': 2,
  'ISDN-V120': 3,
  'ISDN-V110': 4,
  'Virtual': 5,
  'PIAFS': 6,
  'HDLC-Clear-Channel': 7,
  'X.25': 8,
  'X.75': 9,
  'G.3-Fax': 10,
  'SDSL': 11,
  'ADSL-CAP': 12,
  'ADSL-DMT': 13,
  'IDSL': 14,
  'Ethernet': 15,
  'xDSL': 16,
  'Cable': 17,
  'Wireless-Other': 18,
  'Wireless-802.11': 19,
} as const;

// RFC 2866 §5.1
export const AcctStatusType = {
  'Start': 1,
  'Stop': 2,
  'Interim-Update': 3,
  'Accounting-On': 7,
  'Accounting-Off': 8,
} as const;

// RFC 2866 §5.6
export const AcctAuthentic = {
  'RADIUS': 1,
  'Local': 2,
  'Remote': 3,
} as const;

// RFC 2866 §5.10
export const AcctTerminateCause = {
  'User-Request': 1,
  'Lost-Carrier': 2,
  'Lost-Service': 3,
  'Idle-Timeout': 4,
  'Session-Timeout': 5,
  'Admin-Reset': 6,
  'Admin-Reboot': 7,
  'Port-Error': 8,
  'NAS-Error': 9,
  'NAS-Request': 10,
  'NAS-Reboot': 11,
  'Port-Unneeded': 12,
  'Port-Preempted': 13,
  'Port-Suspended': 14,
  'Service-Unavailable': 15,
  'Callback': 16,
  'User-Error': 17,
  'Host-Request': 18,
} as const;

// RFC 5176 §3.5, with FreeRADIUS's names (dictionary.rfc3576 and dictionary.rfc5176). The
// hundreds say who is at fault: 2xx success, 4xx the request, 5xx the NAS.
export const ErrorCause = {
  'Residual-Context-Removed': 201,
  'Invalid-EAP-Packet': 202,
  'Unsupported-Attribute': 401,
  'Missing-Attribute': 402,
  'NAS-Identification-Mismatch': 403,
  'Invalid-Request': 404,
  'Unsupported-Service': 405,
  'Unsupported-Extension': 406,
  'Invalid-Attribute-Value': 407,
  'Administratively-Prohibited': 501,
  'Proxy-Request-Not-Routable': 502,
  'Session-Context-Not-Found': 503,
  'Session-Context-Not-Removable': 504,
  'Proxy-Processing-Error': 505,
  'Resources-Unavailable': 506,
  'Request-Initiated': 507,
  'Multiple-Session-Selection-Unsupported': 508,
} as const;

/** Which attribute each table names values for. */
export const attributeValues = {
  'Service-Type': ServiceType,
  'Framed-Protocol': FramedProtocol,
  'Termination-Action': TerminationAction,
  'NAS-Port-Type': NASPortType,
  'Acct-Status-Type': AcctStatusType,
  'Acct-Authentic': AcctAuthentic,
  'Acct-Terminate-Cause': AcctTerminateCause,
  'Error-Cause': ErrorCause,
} as const;

export type EnumeratedAttributeName = keyof typeof attributeValues;
