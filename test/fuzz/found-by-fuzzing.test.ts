import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldInput, parseBareItem, parseDictionary, serializeDictionary } from '@sideband/http-signatures/structured-fields';
import { formatSipUri, parseSipUri } from '@sideband/sip/wire';

// Inputs the fuzz targets in this folder found wrong, kept as plain cases so that they are
// checked on every run whatever the fuzzers draw.

describe('found by fuzzing', () => {
  it('a SIP URI password with escaped "@" or ":" is escaped again when the URI is formatted', () => {
    const parsed = parseSipUri('sip:alice:p%40ss%3Aw%7B@example.com;transport=tcp');
    assert.ok(parsed.ok);
    assert.equal(parsed.value.password, 'p@ss:w{');
    const formatted = formatSipUri(parsed.value);
    assert.equal(formatted, 'sip:alice:p%40ss%3Aw%7B@example.com;transport=tcp');
    const again = parseSipUri(formatted);
    assert.ok(again.ok);
    assert.deepEqual(again.value, parsed.value);
  });

  it('an RFC 8941 Integer or Decimal "-0" is zero, and so parses the same after serializing', () => {
    for (const text of ['-0', '-000', '-0.0', '-0.000']) {
      const value = parseBareItem(new FieldInput(text)).value;
      assert.ok(Object.is(value, 0), `${text} parsed as ${Object.is(value, -0) ? '-0' : String(value)}`);
    }
    const parsed = parseDictionary('a=-0, b=-0.0;c=-0', { maxLength: 8192 });
    assert.ok(parsed.ok);
    const again = parseDictionary(serializeDictionary(parsed.value), { maxLength: 8192 });
    assert.ok(again.ok);
    assert.deepEqual(again.value, parsed.value);
  });
});
