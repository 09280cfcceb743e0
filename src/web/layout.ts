import { html, unsafeRaw, type SafeHtml } from './html.ts';

export interface NavItem {
  href: string;
  label: string;
}

export interface PageOptions {
  /** The site's name, first in the title and the header. */
  site: string;
  title: string;
  /** Where the site's assets are served from, e.g. `/assets` or `/console/assets`. */
  assets: string;
  nav?: readonly NavItem[];
  current?: string;
  /** Shown after the navigation, e.g. a sign-out form. */
  aside?: SafeHtml;
  body: SafeHtml;
  /** Loads the site's one script file; pages that need no script load none. */
  script?: string;
}

/** The page every site shares: a skip link, a header with the navigation, one main landmark. */
export function page(o: PageOptions): string {
  return '<!doctype html>\n' + html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · ${o.site}</title>
<link rel="stylesheet" href="${o.assets}/site.css">
${o.script ? html`<script src="${o.assets}/${o.script}" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<p class="site">${o.site}</p>
${o.nav ? html`<nav aria-label="Main"><ul>${o.nav.map((n) => html`<li><a href="${n.href}"${n.href === o.current ? unsafeRaw(' aria-current="page"') : ''}>${n.label}</a></li>`)}</ul></nav>` : ''}
${o.aside ?? ''}
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
${o.body}
</main>
</body>
</html>`.text;
}

/** A hidden CSRF field for a form (see page-security.ts). */
export const csrfField = (token: string): SafeHtml => html`<input type="hidden" name="_csrf" value="${token}">`;

/** The source document's "secure icon": a closed padlock, shown where the secure channel is on. */
export const secureIcon = (label: string): SafeHtml =>
  html`<svg class="icon" role="img" aria-label="${label}" viewBox="0 0 16 16" width="16" height="16"><title>${label}</title><path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" fill="currentColor"/></svg>`;

export const time = (iso: string | null | undefined): SafeHtml => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>` : html`—`);
