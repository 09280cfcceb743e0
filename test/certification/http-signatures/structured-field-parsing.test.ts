import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDictionary, serializeBareItem, serializeDictionary, serializeKey, StructuredFieldError, innerList, item, type BareItem, type Dictionary, type InnerList, type Item } from '@sideband/http-signatures/structured-fields';

const limits = { maxLength: 8192 };

function parse(text: string): Dictionary {
  const result = parseDictionary(text, limits);
  assert.ok(result.ok, `${text}: ${JSON.stringify(result)}`);
  return result.value;
}

function reason(text: string, maxLength = 8192): string {
  const result = parseDictionary(text, { maxLength });
  assert.ok(!result.ok, `${JSON.stringify(text)} parsed`);
  return result.reason;
}

const int = (value: number): BareItem => ({ type: 'integer', value });
const str = (value: string): BareItem => ({ type: 'string', value });
const tok = (value: string): BareItem => ({ type: 'token', value });
const yes: BareItem = { type: 'boolean', value: true };

describe('RFC 8941 Dictionary parsing', () => {
  it('parses the RFC 8941 §3.2 examples', () => {
    assert.deepEqual(
      parse('en="Applepie", da=:w4ZibGV0w6ZydGUK:'),
      new Map([
        ['en', item(str('Applepie'))],
        ['da', item({ type: 'byte-sequence', value: new Uint8Array(Buffer.from('Æbletærte\n')) })],
      ]),
    );
    assert.deepEqual(
      parse('a=?0, b, c; foo=bar'),
      new Map([
        ['a', item({ type: 'boolean', value: false })],
        ['b', item(yes)],
        ['c', item(yes, new Map([['foo', tok('bar')]]))],
      ]),
    );
    assert.deepEqual(
      parse('rating=1.5, feelings=(joy sadness)'),
      new Map<string, Item | InnerList>([
        ['rating', item({ type: 'decimal', value: 1.5 })],
        ['feelings', innerList([item(tok('joy')), item(tok('sadness'))])],
      ]),
    );
  });

  it('parses Inner Lists with parameters on the list and on its items', () => {
    assert.deepEqual(
      parse('sig1=("@method" "content-type";sf);created=1618884473;keyid="k"'),
      new Map([
        [
          'sig1',
          innerList(
            [item(str('@method')), item(str('content-type'), new Map([['sf', yes]]))],
            new Map([
              ['created', int(1618884473)],
              ['keyid', str('k')],
            ]),
          ),
        ],
      ]),
    );
    assert.deepEqual(parse('a=(), b=(  1  2  )'), new Map<string, Item | InnerList>([['a', innerList([])], ['b', innerList([item(int(1)), item(int(2))])]]));
  });

  it('parses escapes in Strings, negative and boundary numbers, tokens with : and /', () => {
    assert.deepEqual(parse('a="q\\"b\\\\s"').get('a'), item(str('q"b\\s')));
    assert.deepEqual(parse('a=-999999999999999').get('a'), item(int(-999999999999999)));
    assert.deepEqual(parse('a=999999999999.999').get('a'), item({ type: 'decimal', value: 999999999999.999 }));
    assert.deepEqual(parse('a=foo/bar:baz').get('a'), item(tok('foo/bar:baz')));
    assert.deepEqual(parse('a=*').get('a'), item(tok('*')));
  });

  it('lets a later member or parameter with the same key overwrite the earlier one (RFC 8941 §4.2.2, §4.2.3.2)', () => {
    assert.deepEqual(parse('a=1, b=2, a=3'), new Map([['a', item(int(3))], ['b', item(int(2))]]));
    assert.deepEqual(parse('a=1;x=1;x=2').get('a'), item(int(1), new Map([['x', int(2)]])));
  });

  it('accepts leading and trailing SP, OWS around commas, and an empty field as an empty Dictionary', () => {
    assert.equal(parse('  a=1 ,\tb=2  ').size, 2);
    assert.equal(parse('').size, 0);
  });

  it('refuses each malformation with its own reason', () => {
    const cases: [string, string][] = [
      ['a=1,', 'trailing-comma'],
      ['a=1, ', 'trailing-comma'],
      ['a=1 b=2', 'unexpected-character'],
      ['a=1;', 'key-invalid'],
      ['A=1', 'key-invalid'],
      ['1a=1', 'key-invalid'],
      ['a=', 'unexpected-end'],
      ['a=@1', 'unexpected-character'],
      ['a=-', 'unexpected-end'],
      ['a=-x', 'unexpected-character'],
      ['a=1234567890123456', 'number-too-long'],
      ['a=1234567890123.5', 'number-too-long'],
      ['a=1.', 'decimal-invalid'],
      ['a=1.2345', 'decimal-invalid'],
      ['a="abc', 'string-unterminated'],
      ['a="abc\\', 'string-unterminated'],
      ['a="a\\x"', 'string-escape-invalid'],
      ['a="tab\there"', 'unexpected-character'],
      ['a=?2', 'boolean-invalid'],
      ['a=?', 'boolean-invalid'],
      ['a=:ab$c:', 'byte-sequence-invalid'],
      ['a=:abcd', 'byte-sequence-invalid'],
      ['a=:ab=c:', 'byte-sequence-invalid'],
      ['a=:abcde:', 'byte-sequence-invalid'],
      ['a=:abcd=:', 'byte-sequence-invalid'],
      ['a=:a===:', 'byte-sequence-invalid'],
      ['a=(1 2', 'inner-list-unterminated'],
      ['a=(1 2 ', 'inner-list-unterminated'],
      ['a=(1,2)', 'unexpected-character'],
      ['a=1)', 'unexpected-character'],
      ['a=1 ;x', 'unexpected-character'],
      ['café=1', 'not-ascii'],
      ['a="€"', 'not-ascii'],
    ];
    for (const [text, expected] of cases) assert.equal(reason(text), expected, text);
    assert.equal(reason('a=1, b=2', 7), 'field-too-long');
  });

  it('says where parsing stopped', () => {
    assert.deepEqual(parseDictionary('a=1, b=?x', limits), { ok: false, reason: 'boolean-invalid', offset: 9 });
  });
});

describe('RFC 8941 serialization', () => {
  it('serializes canonically, as RFC 9421 §2.1.1 shows for a re-serialized Dictionary', () => {
    assert.equal(serializeDictionary(parse('a=1,    b=2;x=1;y=2,   c=(a   b   c)')), 'a=1, b=2;x=1;y=2, c=(a b c)');
  });

  it('writes Boolean true members and parameters as bare keys', () => {
    assert.equal(serializeDictionary(parse('a=?1;x=?1, b=?0;y=?0')), 'a;x, b=?0;y=?0');
  });

  it('round-trips every kind of Bare Item', () => {
    const text = 'i=-42, d=-1.25, s="say \\"hi\\" \\\\o/", t=text/html, b=:AQID:, f=?0, l=("x" 2;p tok);q=0.5';
    assert.equal(serializeDictionary(parse(text)), text);
  });

  it('rounds Decimals to three fractional digits and always writes one', () => {
    assert.equal(serializeBareItem({ type: 'decimal', value: 2 }), '2.0');
    assert.equal(serializeBareItem({ type: 'decimal', value: 123.4567 }), '123.457');
    assert.equal(serializeBareItem({ type: 'decimal', value: -0.1 }), '-0.1');
  });

  it('refuses values the grammar cannot carry', () => {
    const refuses = (fn: () => unknown, expected: string) => assert.throws(fn, (error) => error instanceof StructuredFieldError && error.reason === expected);
    refuses(() => serializeBareItem(int(1e15)), 'value-not-serializable');
    refuses(() => serializeBareItem(int(1.5)), 'value-not-serializable');
    refuses(() => serializeBareItem(str('line\nbreak')), 'value-not-serializable');
    refuses(() => serializeBareItem(str('naïve')), 'value-not-serializable');
    refuses(() => serializeBareItem(tok('1abc')), 'value-not-serializable');
    refuses(() => serializeBareItem({ type: 'decimal', value: 1e13 }), 'value-not-serializable');
    refuses(() => serializeKey('Sig'), 'key-invalid');
    refuses(() => serializeDictionary(new Map([['', item(int(1))]])), 'key-invalid');
  });
});
