/**
 * HTML written as tagged template literals: every interpolated value is escaped unless it
 * is itself the result of `html` (or `unsafeRaw`, kept for markup written in this code).
 * Arrays are joined, null and undefined print nothing. This is the whole template engine
 * of the portal, the console and the demo store: no dependency to outlive.
 *
 * @example
 * html`<p>${description}</p>` // "<script>" in description arrives as "&lt;script&gt;"
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new SafeHtml(out);
}

/** Markup this code wrote itself (an icon, a fragment already rendered by `html`); never user data. */
export const unsafeRaw = (markup: string): SafeHtml => new SafeHtml(markup);
