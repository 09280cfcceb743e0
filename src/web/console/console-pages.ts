import { formatAmount } from '../../core/money/currency.ts';
import { html, type SafeHtml } from '../html.ts';
import { redactCardNumbers } from '../../observability/redact.ts';
import { csrfField, page, secureIcon, time, type NavItem } from '../layout.ts';

const SITE = 'Sideband · operator console';
export const CONSOLE_NAV: readonly NavItem[] = [
  { href: '/console/resolve', label: 'Who held it' },
  { href: '/console/sessions', label: 'Sessions and pools' },
  { href: '/console/network', label: 'NAS and exporters' },
  { href: '/console/merchants', label: 'Merchants' },
  { href: '/console/authorizations', label: 'Authorizations' },
  { href: '/console/calls', label: 'Calls' },
  { href: '/console/audit', label: 'Audit log' },
];

export interface Operator {
  name: string;
  csrf: string;
}

/** Everything the operator API answers is JSON of unknown shape to the page; each page names the fields it shows. */
export type Json = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const iso = (v: unknown): SafeHtml => time(typeof v === 'string' ? v : null);
const money = (amount: unknown, currency: unknown): string => (typeof amount === 'number' && typeof currency === 'string' ? formatAmount(amount, currency) : s(amount));

export function consolePage(who: Operator, current: string, title: string, body: SafeHtml): string {
  const aside = html`<form class="inline" method="post" action="/console/logout">${csrfField(who.csrf)}<span class="muted">Signed in as ${who.name}</span> <button class="secondary" type="submit">Sign out</button></form>`;
  return page({ site: SITE, title, assets: '/console/assets', nav: CONSOLE_NAV, current, aside, body });
}

export function consoleLoginPage(csrf: string, error?: string): string {
  const body = html`
${error ? html`<p class="message error" role="alert">${error}</p>` : ''}
<p>Sign in with an operator token (<code>sideband token issue NAME</code>).</p>
<form method="post" action="/console/login">${csrfField(csrf)}
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus size="60">
<p><button type="submit">Sign in</button></p></form>`;
  return page({ site: SITE, title: 'Sign in', assets: '/console/assets', body });
}

export function consoleErrorPage(who: Operator | null, status: number, code: string, message: string): string {
  // The message may quote the request (a URL, a login typed in): never a card number back in clear.
  const body = html`<p class="message error" role="alert">${redactCardNumbers(message)}</p><p class="muted">Error code ${code} (status ${status}).</p>`;
  return who ? consolePage(who, '', 'Something went wrong', body) : page({ site: SITE, title: 'Something went wrong', assets: '/console/assets', body: html`${body}<p><a href="/console/login">Sign in</a></p>` });
}

function table(caption: string, head: readonly string[], rows: readonly SafeHtml[], numeric: readonly number[] = []): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<table><caption class="visually-hidden">${caption}</caption><thead><tr>${head.map((h, i) => html`<th scope="col"${numeric.includes(i) ? html` class="num"` : ''}>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function resolvePage(who: Operator, q: { address?: string; port?: string; at?: string }, answer: { ok: true; body: Json } | { ok: false; message: string } | null): string {
  let result: SafeHtml = html``;
  if (answer?.ok) {
    const b = answer.body as { subscriber: Json; session: Json; binding: Json; address: string; at: string };
    result = html`<h2>Answer</h2><dl class="facts">
<dt>Subscriber</dt><dd>${s(b.subscriber.login)}</dd>
<dt>Session</dt><dd>${s(b.session.id)} (${s(b.session.status)}) on ${s(b.session.nas)}, NAS port ${s(b.session.nasPort)}, Acct-Session-Id ${s(b.session.acctSessionId)}</dd>
<dt>Held</dt><dd>${b.address}${b.binding.portFirst !== null ? ` ports ${s(b.binding.portFirst)}–${s(b.binding.portLast)}` : ''} from ${iso(b.binding.start)} to ${b.binding.end ? iso(b.binding.end) : 'now'}</dd>
</dl>`;
  } else if (answer) {
    result = html`<p class="message error" role="alert">${answer.message}</p>`;
  }
  const body = html`<form method="get" action="/console/resolve"><div class="fields">
<div><label for="address">Address</label><input id="address" name="address" value="${q.address ?? ''}" required></div>
<div><label for="port">Port (under carrier-grade NAT)</label><input id="port" name="port" inputmode="numeric" value="${q.port ?? ''}"></div>
<div><label for="at">Time (ISO 8601 with zone; empty: now)</label><input id="at" name="at" value="${q.at ?? ''}" placeholder="2026-11-23T10:00:00Z"></div>
<div><button type="submit">Look up</button></div></div></form>${result}`;
  return consolePage(who, '/console/resolve', 'Who held address A (port P) at time T', body);
}

export function sessionsPage(who: Operator, sessions: Json[], usage: Json[]): string {
  const bars = usage.map((u) => {
    const size = Number(u.size) || 0;
    const held = Number(u.held) || 0;
    const pct = size === 0 ? 0 : Math.round((held / size) * 1000) / 10;
    return html`<tr><th scope="row">${s(u.pool)}</th><td class="num">${held} / ${size}</td><td><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${pct}% held"><rect class="bar-free" width="100" height="10"/><rect class="bar-held" width="${Math.min(100, pct)}" height="10"/></svg></td><td class="num">${pct}%</td></tr>`;
  });
  const body = html`<h2>Pool utilisation</h2>
${table('Pool utilisation', ['Pool', 'Held / size', 'Chart', 'Held'], bars, [1, 3])}
<h2>Live sessions</h2>
${table('Live sessions', ['Login', 'Address', 'Ports', 'NAS', 'Since', 'Last heard', 'Octets in / out'], sessions.map((x) => html`<tr><td>${s(x.login)}</td><td>${s(x.address)}</td><td>${x.portFirst === null ? '—' : `${s(x.portFirst)}–${s(x.portLast)}`}</td><td>${s(x.nas)}</td><td>${iso(x.since)}</td><td>${iso(x.lastSeenAt)}</td><td class="num">${s(x.inputOctets)} / ${s(x.outputOctets)}</td></tr>`), [6])}`;
  return consolePage(who, '/console/sessions', 'Sessions and pools', body);
}

export function networkPage(who: Operator, nas: Json[], pools: Json[], exporters: Json[]): string {
  const body = html`<h2>NAS clients</h2>
${table('NAS clients', ['Name', 'Address', 'Pool', 'Message-Authenticator required', 'Added'], nas.map((n) => html`<tr><td>${s(n.name)}</td><td>${s(n.address)}</td><td>${s(n.pool)}</td><td>${s(n.requireMessageAuthenticator)}</td><td>${iso(n.createdAt)}</td></tr>`))}
<h2>Address pools</h2>
${table('Address pools', ['Name', 'Range', 'Ports per block', 'Added'], pools.map((p) => html`<tr><td>${s(p.name)}</td><td>${s(p.cidr)}</td><td>${s(p.portsPerBlock)}</td><td>${iso(p.createdAt)}</td></tr>`))}
<h2>Flow exporters</h2>
${table('Flow exporters', ['Name', 'Address', 'Added'], exporters.map((x) => html`<tr><td>${s(x.name)}</td><td>${s(x.address)}</td><td>${iso(x.createdAt)}</td></tr>`))}`;
  return consolePage(who, '/console/network', 'NAS clients and exporters', body);
}

export function merchantsPage(who: Operator, merchants: Json[]): string {
  const body = table('Merchants', ['Name', 'Status', 'Settlement', 'Keys', 'Networks', 'Channel'], merchants.map((m) => html`<tr><td><a href="/console/merchants/${s(m.id)}">${s(m.name)}</a></td><td><span class="status status-${s(m.status)}">${s(m.status)}</span></td><td>${s(m.settlementPreference)}</td><td>${(m.keys as Json[] | undefined)?.length ?? 0}</td><td>${((m.networks as string[] | undefined) ?? []).join(', ')}</td><td>${m.channel ? secureIcon('secure channel registered') : '—'}</td></tr>`));
  return consolePage(who, '/console/merchants', 'Merchants', body);
}

export function merchantPage(who: Operator, m: Json, deliveries: Json[], message?: string): string {
  const channel = m.channel as Json | null;
  const base = `/console/merchants/${s(m.id)}`;
  const body = html`${message ? html`<p class="message" role="status">${message}</p>` : ''}
<dl class="facts">
<dt>Id</dt><dd>${s(m.id)}</dd><dt>Status</dt><dd><span class="status status-${s(m.status)}">${s(m.status)}</span></dd>
<dt>Settlement</dt><dd>${s(m.settlementPreference)}</dd><dt>Webhook</dt><dd>${s(m.webhookUrl)}</dd>
<dt>Certified</dt><dd>${iso(m.certifiedAt)}</dd><dt>Revoked</dt><dd>${iso(m.revokedAt)}</dd>
<dt>Secure channel</dt><dd>${channel ? html`${secureIcon('secure channel registered')} ${s(channel.url)}, line ${s(channel.lineNumber)}, ${s(channel.fingerprint)}` : 'not registered'}</dd>
</dl>
${m.status === 'pending' ? html`<form method="post" action="/console/merchants/${s(m.id)}/certify">${csrfField(who.csrf)}<button type="submit">Certify</button></form>` : ''}
${m.status === 'certified' ? html`<form method="post" action="/console/merchants/${s(m.id)}/revoke">${csrfField(who.csrf)}<button class="danger" type="submit">Revoke</button></form>` : ''}
<h2>Keys</h2>
${table('Keys', ['Key id', 'Use', 'Status', 'Added', 'Change'], ((m.keys as Json[]) ?? []).map((k) => {
    const status = s(k.status ?? (k.revokedAt ? 'revoked' : 'active'));
    return html`<tr><td id="key-${s(k.keyId)}">${s(k.keyId)}</td><td>${s(k.use)}</td><td>${status}</td><td>${iso(k.createdAt)}</td>
<td>${status === 'revoked' ? '' : html`<form class="inline" method="post" action="${base}/keys/revoke">${csrfField(who.csrf)}<input type="hidden" name="keyId" value="${s(k.keyId)}"><button class="danger" type="submit" aria-describedby="key-${s(k.keyId)}">Revoke key</button></form>`}</td></tr>`;
  }))}
<form method="post" action="${base}/keys">${csrfField(who.csrf)}
<label for="publicKey">New public key (PEM: Ed25519 to sign; P-256, X25519 or RSA to encrypt)</label>
<textarea id="publicKey" name="publicKey" rows="4" required></textarea>
<div class="fields"><div><label for="use">Use</label><select id="use" name="use"><option value="sig">sig (signs requests)</option><option value="enc">enc (data encrypted to it)</option></select></div>
<div><label for="keyId">Key id (optional)</label><input id="keyId" name="keyId"></div><div><button type="submit">Add key</button></div></div></form>
<h2>Networks</h2>
${((m.networks as string[]) ?? []).length === 0 ? html`<p class="muted">None.</p>` : html`<ul>${((m.networks as string[]) ?? []).map((n, i) => html`<li><span id="net-${i}">${n}</span> <form class="inline" method="post" action="${base}/networks/remove">${csrfField(who.csrf)}<input type="hidden" name="cidr" value="${n}"><button class="danger" type="submit" aria-describedby="net-${i}">Remove</button></form></li>`)}</ul>`}
<form method="post" action="${base}/networks">${csrfField(who.csrf)}<div class="fields">
<div><label for="cidr">Network it serves from (address range)</label><input id="cidr" name="cidr" placeholder="198.51.100.0/24" required></div><div><button type="submit">Add network</button></div></div></form>
<h2>Secure channel endpoint</h2>
<form method="post" action="${base}/channel">${csrfField(who.csrf)}<div class="fields">
<div><label for="channel-url">Negotiation URL</label><input id="channel-url" name="url" value="${channel ? s(channel.url) : ''}" required></div>
<div><label for="channel-line">Line number</label><input id="channel-line" name="lineNumber" value="${channel ? s(channel.lineNumber) : ''}" required></div>
<div><label for="channel-fingerprint">Certificate fingerprint (sha-256 AB:CD:…)</label><input id="channel-fingerprint" name="fingerprint" value="${channel ? s(channel.fingerprint) : ''}" required></div>
<div><button type="submit">Set channel</button></div></div></form>
<h2>Webhook</h2>
<form method="post" action="${base}/webhook">${csrfField(who.csrf)}<div class="fields">
<div><label for="webhook-url">Webhook URL (empty: none)</label><input id="webhook-url" name="url" value="${typeof m.webhookUrl === 'string' ? m.webhookUrl : ''}"></div>
<div><button type="submit">Change webhook</button></div></div></form>
<h2>Webhook deliveries</h2>
${table('Webhook deliveries', ['Event', 'Type', 'Status', 'Attempts', 'Last status', 'Last error', 'Created', 'Delivered'], deliveries.map((d) => html`<tr><td>${s(d.eventId)}</td><td>${s(d.type)}</td><td>${s(d.status)}</td><td class="num">${s(d.attempts)}</td><td>${s(d.lastStatus)}</td><td>${s(d.lastError)}</td><td>${iso(d.createdAt)}</td><td>${iso(d.deliveredAt)}</td></tr>`), [3])}
<p><a href="/console/authorizations?merchant=${s(m.id)}">This merchant's authorizations</a></p>`;
  return consolePage(who, '/console/merchants', `Merchant ${s(m.name)}`, body);
}

export function authorizationsPage(who: Operator, q: { subscriber?: string; merchant?: string; status?: string }, rows: Json[]): string {
  const body = html`<form method="get" action="/console/authorizations"><input type="hidden" name="merchant" value="${q.merchant ?? ''}"><div class="fields">
<div><label for="subscriber">Subscriber login</label><input id="subscriber" name="subscriber" value="${q.subscriber ?? ''}"></div>
<div><label for="status">Status</label><input id="status" name="status" value="${q.status ?? ''}" placeholder="pending, approved, captured…"></div>
<div><button type="submit">Filter</button></div></div></form>
${table('Authorizations', ['Created', 'Subscriber', 'Merchant', 'What', 'Amount', 'Status', 'Captured', 'Refunded'], rows.map((a) => html`<tr><td><a href="/console/authorizations/${s(a.id)}">${iso(a.createdAt)}</a></td><td>${s(a.login)}</td><td>${s(a.merchant)}</td><td>${s(a.description)}</td><td class="num">${money(a.amount, a.currency)}</td><td><span class="status status-${s(a.status)}">${s(a.status)}</span>${a.reason ? ` (${s(a.reason)})` : ''}</td><td class="num">${money(a.capturedAmount, a.currency)}</td><td class="num">${money(a.refundedAmount, a.currency)}</td></tr>`), [4, 6, 7])}`;
  return consolePage(who, '/console/authorizations', 'Authorizations', body);
}

export function authorizationPage(who: Operator, a: Json): string {
  const body = html`<dl class="facts">
<dt>Id</dt><dd>${s(a.id)}</dd><dt>Subscriber</dt><dd>${s(a.login)}</dd><dt>Merchant</dt><dd><a href="/console/merchants/${s(a.merchantId)}">${s(a.merchant)}</a></dd>
<dt>What</dt><dd>${s(a.description)}</dd><dt>Amount</dt><dd>${money(a.amount, a.currency)}</dd><dt>Status</dt><dd>${s(a.status)}${a.reason ? ` (${s(a.reason)})` : ''}</dd>
<dt>Settlement</dt><dd>${s(a.settlement)}</dd><dt>Session</dt><dd>${s(a.sessionId)}</dd><dt>Created</dt><dd>${iso(a.createdAt)}</dd><dt>Expires</dt><dd>${iso(a.expiresAt)}</dd>
</dl>
<h2>Events</h2>
${table('Events', ['When', 'Event', 'Amount', 'Detail'], ((a.events as Json[]) ?? []).map((e) => html`<tr><td>${iso(e.at)}</td><td>${s(e.type)}</td><td class="num">${e.amount === null ? '—' : money(e.amount, a.currency)}</td><td>${e.detail ? s(e.detail) : ''}</td></tr>`), [2])}`;
  return consolePage(who, '/console/authorizations', `Authorization ${s(a.id)}`, body);
}

export function callsPage(who: Operator, calls: Json[]): string {
  const body = table('Call detail records', ['Started', 'Caller (ANI)', 'Dialed (DNIS)', 'Callee', 'Billed', 'Status', 'Outcome', 'Bytes', 'Ended'], calls.map((c) => html`<tr><td>${iso(c.startedAt)}</td><td>${s(c.caller)}</td><td>${s(c.dialed)}</td><td>${s(c.callee)}</td><td>${s(c.billed)}${c.reverseCharge ? ' (reverse charge)' : ''}</td><td>${s(c.status)}</td><td>${s(c.outcome)}</td><td class="num">${s(c.bytes)}</td><td>${iso(c.endedAt)}</td></tr>`), [7]);
  return consolePage(who, '/console/calls', 'Call detail records', body);
}

export function auditPage(who: Operator, q: { action?: string; actor?: string; subject?: string }, rows: Json[], next: string | null): string {
  const query = (before: string) => new URLSearchParams({ ...(q.action ? { action: q.action } : {}), ...(q.actor ? { actor: q.actor } : {}), ...(q.subject ? { subject: q.subject } : {}), before }).toString();
  const body = html`<form method="get" action="/console/audit"><div class="fields">
<div><label for="action">Action (end with a dot for a prefix, e.g. vault.)</label><input id="action" name="action" value="${q.action ?? ''}"></div>
<div><label for="actor">Actor</label><input id="actor" name="actor" value="${q.actor ?? ''}"></div>
<div><label for="subject">Subject id</label><input id="subject" name="subject" value="${q.subject ?? ''}"></div>
<div><button type="submit">Filter</button></div></div></form>
${table('Audit log', ['When', 'Actor', 'Action', 'Subject', 'Detail'], rows.map((r) => html`<tr><td>${iso(r.at)}</td><td>${s(r.actor)}</td><td>${s(r.action)}</td><td>${s(r.subjectType)} ${r.subjectId ? s(r.subjectId) : ''}</td><td>${r.detail ? s(r.detail) : ''}</td></tr>`))}
${next ? html`<p><a href="/console/audit?${query(next)}">Older entries</a></p>` : ''}`;
  return consolePage(who, '/console/audit', 'Audit log', body);
}
