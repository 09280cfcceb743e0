import { SIP_VERSION, type SipMessage } from './sip-message.ts';

/**
 * The bytes of a message: start line, the header fields in order, a Content-Length that
 * always matches the body (RFC 3261 §18.3: on streams it "MUST be used"; on UDP it is
 * sent anyway, §20.14 "SHOULD"), an empty line, the body.
 */
export function serializeMessage(message: SipMessage): Buffer {
  const startLine = message.kind === 'request' ? `${message.method} ${message.uri} ${SIP_VERSION}` : `${SIP_VERSION} ${message.status} ${message.reason}`;
  let head = `${startLine}\r\n`;
  for (const field of message.headers.entries()) {
    if (field.key === 'content-length') continue;
    head += `${field.name}: ${field.value}\r\n`;
  }
  head += `Content-Length: ${message.body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), message.body]);
}
