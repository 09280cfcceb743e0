// RFC 2865 §3: Code(1) Identifier(1) Length(2) Authenticator(16), then attributes.
export const HEADER_LENGTH = 20;
export const AUTHENTICATOR_OFFSET = 4;
export const AUTHENTICATOR_LENGTH = 16;

// RFC 2865 §3: "The minimum length is 20 and maximum length is 4096."
export const MIN_PACKET_LENGTH = HEADER_LENGTH;
export const MAX_PACKET_LENGTH = 4096;

// RFC 2865 §5: Type(1) Length(1) Value; Length is one octet and counts the header.
export const ATTRIBUTE_HEADER_LENGTH = 2;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 253;
