import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, html, unsafeRaw } from '../../src/web/html.ts';

describe('the pages\' template tag', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const evil = `<script>alert("x")</script>' onmouseover='y' \`z\` &amp;`;
    const out = html`<p title="${evil}">${evil}</p>`.text;
    assert.equal(out, `<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
    assert.ok(!/[<>"'`]/.test(escapeHtml(evil)));
    assert.match(escapeHtml('&amp;'), /^&amp;amp;$/);
  });

  it('nests its own results without escaping them twice, joins arrays, and prints nothing for null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    assert.equal(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.text, '<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
    assert.equal(html`${unsafeRaw('<br>')}`.text, '<br>');
  });
});
