/**
 * sipp scenarios for the exchange. Keywords: [caller], [called], [contact_port] come from
 * -key; [authentication] answers the last 401/407 with -au/-ap. The ACK for a failure
 * response reuses the INVITE's branch (RFC 3261 §17.1.1.3), hence [branch-N], N counting
 * back to the INVITE's place in the scenario.
 */
const message = (lines: string[]): string => `<![CDATA[\n\n${lines.join('\n')}\n\n]]>`;

const register = (contact: string, cseq: number, auth: boolean): string => message([
  'REGISTER sip:[remote_ip]:[remote_port] SIP/2.0',
  'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
  'From: <sip:[caller]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]',
  'To: <sip:[caller]@[remote_ip]>',
  'Call-ID: [call_id]',
  `CSeq: ${cseq} REGISTER`,
  `Contact: <sip:[caller]@[local_ip]:${contact}>`,
  'Max-Forwards: 70',
  'Expires: 120',
  ...(auth ? ['[authentication]'] : []),
  'Content-Length: 0',
]);

const invite = (cseq: number, auth: boolean): string => message([
  'INVITE sip:[called]@[remote_ip]:[remote_port] SIP/2.0',
  'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
  'From: <sip:[caller]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]',
  'To: <sip:[called]@[remote_ip]>',
  'Call-ID: [call_id]',
  `CSeq: ${cseq} INVITE`,
  'Contact: <sip:[caller]@[local_ip]:[local_port]>',
  'Max-Forwards: 70',
  ...(auth ? ['[authentication]'] : []),
  'Content-Type: application/sdp',
  'Content-Length: [len]',
  '',
  'v=0',
  'o=- 1 1 IN IP4 [local_ip]',
  's=-',
  'c=IN IP4 [local_ip]',
  't=0 0',
  'm=application 9 TCP/TLS *',
]);

const ack = (cseq: number, back: number): string => message([
  'ACK sip:[called]@[remote_ip]:[remote_port] SIP/2.0',
  `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-${back}]`,
  'From: <sip:[caller]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]',
  'To: <sip:[called]@[remote_ip]>[peer_tag_param]',
  'Call-ID: [call_id]',
  `CSeq: ${cseq} ACK`,
  'Max-Forwards: 70',
  'Content-Length: 0',
]);

const scenario = (name: string, steps: string[]): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">\n${steps.join('\n')}\n</scenario>\n`;

/** Calls [called] from [caller], answers the 407 with Digest, and expects 404. */
export const callUnknownNumber = scenario('call a number nobody registered', [
  `<send retrans="500">${invite(1, false)}</send>`, // 0
  '<recv response="100" optional="true"/>', // 1
  '<recv response="407" auth="true"/>', // 2
  `<send>${ack(1, 3)}</send>`, // 3: the branch of 0
  `<send retrans="500">${invite(2, true)}</send>`, // 4
  '<recv response="100" optional="true"/>', // 5
  '<recv response="404"/>', // 6
  `<send>${ack(2, 3)}</send>`, // 7: the branch of 4
]);

/** Registers [caller] with a Contact on another port, [contact_port], where a sipp UAS waits. */
export const registerContactElsewhere = scenario('register a contact for another process', [
  `<send retrans="500">${register('[contact_port]', 1, false)}</send>`,
  '<recv response="401" auth="true"/>',
  `<send retrans="500">${register('[contact_port]', 2, true)}</send>`,
  '<recv response="200"/>',
]);

/** Answers one INVITE 100 then 486 Busy Here, and waits for the ACK. */
export const answerBusy = scenario('answer busy', [
  '<recv request="INVITE"/>',
  `<send>${message(['SIP/2.0 100 Trying', '[last_Via:]', '[last_From:]', '[last_To:]', '[last_Call-ID:]', '[last_CSeq:]', 'Content-Length: 0'])}</send>`,
  `<send>${message(['SIP/2.0 486 Busy Here', '[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]', '[last_CSeq:]', 'Content-Length: 0'])}</send>`,
  '<recv request="ACK"/>',
]);
