import { formatAmount } from '../../core/money/currency.ts';
import { html, type SafeHtml } from '../html.ts';
import { csrfField, page } from '../layout.ts';
import type { Product } from './catalogue.ts';
import type { Delivery } from './store-channel.ts';

const SITE = 'Demo Shop';

export interface Order {
  id: string;
  product: Product;
  authorizationId: string | null;
  status: string;
  reason: string | null;
  customer: string;
  /** When the store first saw it approved. */
  paidAt: number | null;
  delivery: Delivery | null;
}

/** What the order page shows, as one string: its script reloads the page when it changes. */
export function orderState(order: Order): string {
  return `${order.status}:${order.delivery?.status ?? 'none'}`;
}

/** The customer's address as the store will name it to the provider; asked for only in development (see README). */
export function cataloguePage(products: readonly Product[], csrf: string, customer: { address: string | null; fromConnection: boolean }): string {
  const addressNote = customer.fromConnection
    ? html`<p class="muted">You are buying from ${customer.address}: the address your connection comes from.</p>`
    : html`<form method="get" action="/" class="card"><p>Your browser is on this machine, so the shop cannot see the address your provider gave you. Give it (development only):</p>
<div class="fields"><div><label for="address">Your network address</label><input id="address" name="address" value="${customer.address ?? ''}" required></div><div><button type="submit">Use it</button></div></div></form>`;
  const body = html`${addressNote}
<div class="catalogue">${products.map((p) => html`<article class="card" aria-labelledby="h-${p.sku}">
<h2 id="h-${p.sku}">${p.name}</h2><p>${p.description}</p><p><strong>${formatAmount(p.price, p.currency)}</strong></p>
${customer.address ? html`<form method="post" action="/buy">${csrfField(csrf)}<input type="hidden" name="sku" value="${p.sku}"><input type="hidden" name="address" value="${customer.address}"><button type="submit" aria-describedby="h-${p.sku}">Buy</button></form>` : html`<p class="muted">Give your address above to buy.</p>`}
</article>`)}</div>
<p class="muted">Payment by your Internet provider: the shop never sees your card.</p>`;
  return page({ site: SITE, title: 'Catalogue', assets: '/assets', nav: [{ href: '/', label: 'Catalogue' }], current: '/', body });
}

function describe(order: Order): SafeHtml {
  switch (order.status) {
    case 'pending':
      return html`<p class="status" role="status">Waiting for you to approve this purchase in your provider's portal.</p>`;
    case 'processing':
      return html`<p class="status" role="status">Your provider is asking your card's bank.</p>`;
    case 'approved':
    case 'captured':
      return html`<p class="status status-approved" role="status">Paid. Thank you!</p>`;
    case 'declined':
      return html`<p class="status status-declined" role="status">Declined${order.reason ? ` (${order.reason})` : ''}.</p>`;
    default:
      return html`<p class="status" role="status">${order.status}${order.reason ? ` (${order.reason})` : ''}</p>`;
  }
}

/** The goods' way to the customer: over the secure channel to their provider, never on this page. */
function delivery(d: Delivery | null): SafeHtml | string {
  if (!d) return '';
  switch (d.status) {
    case 'delivering':
      return html`<p class="status" role="status">Sending your ticket code over the secure channel…</p>`;
    case 'delivered':
      return html`<p class="status status-approved" role="status">Delivered over the secure channel: ${d.items === 1 ? 'your ticket code' : `${d.items} items`} went to your provider over a separate call, not over the Internet. Find ${d.items === 1 ? 'it' : 'them'} in your provider's portal, under Secure channel.</p>
${d.cardArrived ? html`<p class="muted">Your card details reached the shop the same way.</p>` : ''}`;
    case 'failed':
      return html`<p class="status status-declined" role="status">The secure channel failed${d.cause ? ` (${d.cause})` : ''}: nothing was delivered over it. Your provider's portal asks you what happens instead.</p>`;
  }
}

export function orderPage(order: Order, waiting: boolean): string {
  const body = html`<dl class="facts"><dt>Order</dt><dd>${order.id}</dd><dt>Item</dt><dd>${order.product.name}</dd><dt>Price</dt><dd>${formatAmount(order.product.price, order.product.currency)}</dd><dt>Customer address</dt><dd>${order.customer}</dd></dl>
<div id="order-status" data-order="${order.id}" data-state="${orderState(order)}"${waiting ? html` data-poll="/orders/${order.id}/state"` : ''}>${describe(order)}${delivery(order.delivery)}</div>
<p><a href="/">Back to the catalogue</a></p>`;
  return page({ site: SITE, title: `Order ${order.product.name}`, assets: '/assets', nav: [{ href: '/', label: 'Catalogue' }], body, ...(waiting ? { script: 'store.js' } : {}) });
}

export function storeErrorPage(status: number, message: string): string {
  return page({ site: SITE, title: 'Something went wrong', assets: '/assets', nav: [{ href: '/', label: 'Catalogue' }], body: html`<p class="message error" role="alert">${message}</p><p class="muted">Status ${status}.</p>` });
}
