import type { CamaraConsentView } from '../../certification/camara/camara-consents.ts';
import { formatAmount } from '../../core/money/currency.ts';
import type { CardView, SubscriberView } from '../../provisioning/subscribers.ts';
import { html, type SafeHtml } from '../html.ts';
import { csrfField, page, secureIcon, time, type NavItem } from '../layout.ts';
import type { CurrentSession, ExchangeSummary, Purchase, SecurePreference } from './subscriber-view.ts';
import { redactCardNumbers } from '../../observability/redact.ts';
import type { StatementLine } from '../../certification/subscriber-statement.ts';

const SITE = 'Sideband · your account';
const NAV: readonly NavItem[] = [
  { href: '/now', label: 'Now' },
  { href: '/purchases', label: 'Purchases' },
  { href: '/settings', label: 'Settings' },
  { href: '/channel', label: 'Secure channel' },
];

export interface Signed {
  login: string;
  csrf: string;
}

function portalPage(who: Signed, current: string, title: string, body: SafeHtml, script = false): string {
  const aside = html`<form class="inline" method="post" action="/logout">${csrfField(who.csrf)}<span class="muted">Signed in as ${who.login}</span> <button class="secondary" type="submit">Sign out</button></form>`;
  return page({ site: SITE, title, assets: '/assets', nav: NAV, current, aside, body, ...(script ? { script: 'portal.js' } : {}) });
}

const money = (amount: number, currency: string): string => formatAmount(amount, currency);

export function loginPage(csrf: string, message?: { text: string; error?: boolean }): string {
  const body = html`
${message ? html`<p class="message${message.error ? ' error' : ''}" role="${message.error ? 'alert' : 'status'}">${message.text}</p>` : ''}
<p>Sign in with the login and password you use to connect.</p>
<form method="post" action="/login">
${csrfField(csrf)}
<label for="login">Login</label>
<input id="login" name="login" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p>
</form>`;
  return page({ site: SITE, title: 'Sign in', assets: '/assets', body });
}

export function nowPage(who: Signed, s: CurrentSession | null): string {
  const duration = (seconds: number): string => `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  const body = s
    ? html`
<dl class="facts">
<dt>Address</dt><dd>${s.address ?? 'none yet'}</dd>
<dt>Port block</dt><dd>${s.portFirst !== null ? `${s.portFirst}–${s.portLast}` : 'all ports (address not shared)'}</dd>
${s.ipv6.length > 0 ? html`<dt>IPv6</dt><dd>${s.ipv6.join(', ')}</dd>` : ''}
<dt>Since</dt><dd>${time(s.since)}</dd>
<dt>Connected through</dt><dd>${s.nas}</dd>
<dt>Prepaid time left</dt><dd>${s.secondsLeft === null ? 'no prepaid limit' : duration(s.secondsLeft)}</dd>
</dl>
<h2>Recent destinations</h2>
${s.destinations.length === 0 ? html`<p class="muted">None recorded yet.</p>` : html`<table><caption class="visually-hidden">Recent destinations</caption><thead><tr><th scope="col">Destination</th><th scope="col">Last seen</th><th scope="col" class="num">Flows</th></tr></thead><tbody>
${s.destinations.map((d) => html`<tr><td>${d.destination}</td><td>${time(d.lastSeen)}</td><td class="num">${d.flows}</td></tr>`)}
</tbody></table>`}`
    : html`<p>You are not connected right now.</p>`;
  return portalPage(who, '/now', 'Now', body);
}

/** The pending list alone: the page renders it, and the live feed sends it again on each change. */
export function pendingList(csrf: string, pending: readonly Purchase[]): SafeHtml {
  if (pending.length === 0) return html`<p class="muted">Nothing is waiting for you.</p>`;
  return html`${pending.map((p) => html`<article class="card pending" aria-labelledby="p-${p.id}">
<h3 id="p-${p.id}">${p.merchant}: ${money(p.amount, p.currency)}</h3>
<p>${p.description ?? ''}</p>
<p class="muted">Asked ${time(p.createdAt)}; declined by itself after ${time(p.expiresAt)}.</p>
<form class="inline" method="post" action="/purchases/${p.id}/approve">${csrfField(csrf)}<button type="submit" aria-describedby="p-${p.id}">Approve</button></form>
<form class="inline" method="post" action="/purchases/${p.id}/decline">${csrfField(csrf)}<button class="danger" type="submit" aria-describedby="p-${p.id}">Decline</button></form>
</article>`)}`;
}

export function purchasesPage(who: Signed, p: { pending: Purchase[]; history: Purchase[] }, statement: { currency: string; total: number; lines: StatementLine[] }, message?: string): string {
  const body = html`
${message ? html`<p class="message" role="status">${message}</p>` : ''}
<h2>Waiting for you</h2>
<p id="pending-status" class="visually-hidden" role="status" aria-live="polite"></p>
<div id="pending" data-events="/purchases/events">${pendingList(who.csrf, p.pending)}</div>
<h2>History</h2>
${p.history.length === 0 ? html`<p class="muted">No purchases yet.</p>` : html`<table><caption class="visually-hidden">Purchase history</caption><thead><tr><th scope="col">When</th><th scope="col">Merchant</th><th scope="col">What</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col">Captures and refunds</th></tr></thead><tbody>
${p.history.map((h) => html`<tr><td>${time(h.createdAt)}</td><td>${h.merchant}</td><td>${h.description ?? ''}</td><td class="num">${money(h.amount, h.currency)}</td><td><span class="status status-${h.status}">${h.status}</span>${h.reason ? html` <span class="muted">(${h.reason})</span>` : ''}</td>
<td>${h.movements.length === 0 ? '—' : html`<ul>${h.movements.map((m) => html`<li>${m.type} ${money(m.amount, h.currency)} ${time(m.at)}</li>`)}</ul>`}</td></tr>`)}
</tbody></table>`}
<h2>Statement</h2>
<p class="muted">Purchases billed by your provider, this month.</p>
${statement.lines.length === 0 ? html`<p class="muted">Nothing on your bill this month.</p>` : html`<table><caption class="visually-hidden">Statement</caption><thead><tr><th scope="col">When</th><th scope="col">Merchant</th><th scope="col">What</th><th scope="col" class="num">Amount</th></tr></thead><tbody>
${statement.lines.map((l) => html`<tr><td>${time(l.at)}</td><td>${l.merchant}</td><td>${l.description ?? ''}</td><td class="num">${money(l.amount, statement.currency)}</td></tr>`)}
</tbody><tfoot><tr><th scope="row" colspan="3">Total</th><td class="num">${money(statement.total, statement.currency)}</td></tr></tfoot></table>`}`;
  return portalPage(who, '/purchases', 'Purchases', body, true);
}

const MODES: ReadonlyArray<{ value: SecurePreference['mode']; label: string }> = [
  { value: 'off', label: 'Off' },
  { value: 'once', label: 'Next purchase only' },
  { value: 'on', label: 'On until I switch it off' },
];

export function settingsPage(who: Signed, account: SubscriberView & { cards: CardView[] }, prefs: SecurePreference[], message?: string, consents: CamaraConsentView[] = []): string {
  const left = Math.max(0, account.spendingLimit - account.amountUsed);
  const body = html`
${message ? html`<p class="message" role="status">${message}</p>` : ''}
<h2>Spending limit</h2>
<dl class="facts">
<dt>Limit</dt><dd>${money(account.spendingLimit, account.currency)}</dd>
<dt>Used</dt><dd>${money(account.amountUsed, account.currency)}</dd>
<dt>Left</dt><dd>${money(left, account.currency)}</dd>
</dl>
<h2>Approve by itself</h2>
<form method="post" action="/settings/auto-approve">
${csrfField(who.csrf)}
<div class="fields">
<div><label for="auto">Purchases up to this amount are approved without asking you (${account.currency}, minor units; empty: always ask)</label>
<input id="auto" name="autoApproveLimit" inputmode="numeric" pattern="[0-9]*" value="${account.autoApproveLimit ?? ''}"></div>
<div><button type="submit">Save</button></div>
</div>
<p class="muted">Now: ${account.autoApproveLimit === null ? 'every purchase waits for you' : `up to ${money(account.autoApproveLimit, account.currency)}`}.</p>
</form>
<h2>Cards</h2>
${account.cards.length === 0 ? html`<p class="muted">No card on file.</p>` : html`<ul>${account.cards.map((c) => html`<li>${c.brand} <span class="masked">${c.masked}</span>, expires ${c.expiry}</li>`)}</ul>`}
<h2>Secure channel per merchant</h2>
<p>When it is on, your card goes to the merchant over a separate call, never over the Internet.</p>
${prefs.length === 0 ? html`<p class="muted">No merchants.</p>` : html`<table><caption class="visually-hidden">Secure channel per merchant</caption><thead><tr><th scope="col">Merchant</th><th scope="col">Secure</th><th scope="col">Change</th></tr></thead><tbody>
${prefs.map((p) => html`<tr><td>${p.merchant}</td><td>${p.mode === 'off' ? 'off' : html`${secureIcon('secure')} ${p.mode === 'on' ? 'on' : 'next purchase'}`}</td>
<td><form class="fields" method="post" action="/settings/secure/${p.merchantId}">${csrfField(who.csrf)}
<label class="visually-hidden" for="mode-${p.merchantId}">Secure channel for ${p.merchant}</label>
<select id="mode-${p.merchantId}" name="mode">${MODES.map((m) => html`<option value="${m.value}"${m.value === p.mode ? html` selected` : ''}>${m.label}</option>`)}</select>
<button type="submit">Set</button></form></td></tr>`)}
</tbody></table>`}
<h2>Phone number to merchants</h2>
<p>A merchant that asks the operator's payment API (CAMARA) to charge you by your connection's address learns your phone number, but only if you allow it here. Off, such a payment is refused; you can still pay. Switching it off does not take back what a merchant was already told.</p>
${consents.length === 0 ? html`<p class="muted">No merchants.</p>` : html`<table><caption class="visually-hidden">Phone number per merchant</caption><thead><tr><th scope="col">Merchant</th><th scope="col">May learn your number</th><th scope="col">Change</th></tr></thead><tbody>
${consents.map((c) => html`<tr><td>${c.merchant}</td><td>${c.consent ? 'yes' : 'no'}</td>
<td><form class="fields" method="post" action="/settings/camara/${c.merchantId}">${csrfField(who.csrf)}
<input type="hidden" name="consent" value="${c.consent ? 'off' : 'on'}">
<button type="submit">${c.consent ? `Stop telling ${c.merchant}` : `Allow ${c.merchant}`}</button></form></td></tr>`)}
</tbody></table>`}`;
  return portalPage(who, '/settings', 'Settings', body);
}

const LIVE = new Set(['negotiating', 'calling', 'active']);

export function channelPage(who: Signed, exchanges: ExchangeSummary[], message?: string): string {
  const describe = (e: ExchangeSummary): SafeHtml => {
    if (e.status === 'active') return html`${secureIcon('secure channel active')} <strong class="ok">Active</strong>: the call is up; your card goes over it, not over the Internet.`;
    if (e.status === 'negotiating' || e.status === 'calling') return html`<strong>Setting up</strong>: nothing has been sent yet.`;
    if (e.status === 'completed') return html`<span class="ok">Completed</span>; the call has ended.`;
    return html`<strong class="error">Failed</strong>${e.cause ? ` (${e.cause})` : ''}: the channel could not be set up, and nothing was sent over it.`;
  };
  const body = html`
${message ? html`<p class="message" role="status">${message}</p>` : ''}
${exchanges.length === 0 ? html`<p class="muted">No secure exchange yet. Switch it on for a merchant under Settings.</p>` : exchanges.map((e) => html`<article class="card" aria-labelledby="x-${e.id}">
<h2 id="x-${e.id}">${e.merchant}</h2>
<p>${describe(e)}</p>
<p class="muted">Started ${time(e.createdAt)}${e.activeAt ? html`; active ${time(e.activeAt)}, before anything was sent` : ''}${e.endedAt ? html`; ended ${time(e.endedAt)}` : ''}; items received: ${e.itemsReceived}.</p>
${e.goods.length ? html`<h3>Delivered to you over the call</h3><ul class="goods">${e.goods.map((g) => html`<li>${g.text !== null ? html`<code>${g.text}</code>` : `${g.contentType ?? 'an item'}, ${g.bytes} bytes`}</li>`)}</ul>` : ''}
${LIVE.has(e.status) ? html`<form method="post" action="/channel/${e.id}/end">${csrfField(who.csrf)}<button class="danger" type="submit">End it now</button></form>` : ''}
${e.status === 'failed' && !e.fallback ? html`<p>What should happen instead?</p>
<form class="inline" method="post" action="/channel/${e.id}/fallback">${csrfField(who.csrf)}<input type="hidden" name="choice" value="internet"><button type="submit">Send over encrypted Internet</button></form>
<form class="inline" method="post" action="/channel/${e.id}/fallback">${csrfField(who.csrf)}<input type="hidden" name="choice" value="abort"><button class="danger" type="submit">Abort</button></form>` : ''}
${e.fallback ? html`<p>You chose: ${e.fallback === 'internet' ? 'conventional encrypted Internet' : 'abort'}.</p>` : ''}
</article>`)}`;
  return portalPage(who, '/channel', 'Secure channel', body);
}

export function errorPage(status: number, code: string, message: string, signedIn: Signed | null): string {
  // The message may quote the request (a URL, a login typed in): never a card number back in clear.
  const body = html`<p class="message error" role="alert">${redactCardNumbers(message)}</p><p class="muted">Error code ${code} (status ${status}).</p><p><a href="${signedIn ? '/now' : '/login'}">Back</a></p>`;
  return signedIn ? portalPage(signedIn, '', 'Something went wrong', body) : page({ site: SITE, title: 'Something went wrong', assets: '/assets', body });
}
