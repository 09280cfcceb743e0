import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

const load = (createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown }).load;

type Response = { $ref?: string; content?: Record<string, { schema: object }> };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, Response> }>>; components: { responses: Record<string, Response> } };

/** The published CAMARA documents, copied unchanged from the CAMARA project (Apache 2.0; README there). */
export const SPEC_DIR = fileURLToPath(new URL('../fixtures/camara', import.meta.url));

/**
 * Validates real answers against a published CAMARA OpenAPI 3.0.3 document, using its own
 * components (Ajv, draft-07 semantics; `discriminator` and `example` are annotations here).
 */
export class CamaraSpec {
  private readonly doc: Doc;
  private readonly ajv: Ajv;
  constructor(readonly file: string, readonly base: string) {
    this.doc = load(readFileSync(`${SPEC_DIR}/${file}`, 'utf8')) as Doc;
    // Amounts are floats with multipleOf 0.001: 19.99 / 0.001 is not an integer in binary.
    this.ajv = new Ajv({ strict: false, allErrors: true, multipleOfPrecision: 6 });
    (addFormats as unknown as (a: Ajv) => void)(this.ajv);
    this.ajv.addSchema({ $id: file, components: this.doc.components });
  }

  /** Asserts that `body` with `status` is what the document allows for this operation. */
  check(method: string, path: string, status: number, body: string): void {
    const rel = path.startsWith(this.base) ? path.slice(this.base.length) : path;
    // The most literal template first: /refunds/remaining-amount before /refunds/{refundId}.
    const params = (t: string) => t.split('{').length;
    const entry = rel in this.doc.paths ? ([rel, this.doc.paths[rel]!] as const) : Object.entries(this.doc.paths).sort(([a], [b]) => params(a) - params(b)).find(([t]) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(rel));
    assert.ok(entry, `${path} is not in ${this.file}`);
    const op = entry[1][method.toLowerCase()];
    assert.ok(op, `${method} ${path} is not in ${this.file}`);
    let response = op.responses[String(status)];
    assert.ok(response, `${method} ${path} answered ${status}, which ${this.file} does not list: ${body}`);
    if (response.$ref) response = this.doc.components.responses[response.$ref.split('/').at(-1)!]!;
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      assert.equal(body, '', `${method} ${path} ${status} has no body in ${this.file}`);
      return;
    }
    const validate = this.ajv.compile(rewriteRefs(schema, this.file));
    assert.ok(validate(JSON.parse(body)), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)} in ${body}`);
  }

  /** Asserts that `body` is a `components.schemas[name]` of the document (a callback's CloudEvent, say). */
  checkSchema(name: string, body: string): void {
    const validate = this.ajv.compile({ $ref: `${this.file}#/components/schemas/${name}` });
    assert.ok(validate(JSON.parse(body)), `${name}: ${JSON.stringify(validate.errors)} in ${body}`);
  }
}

/** The document's local `#/components/...` references, made absolute to the registered document. */
function rewriteRefs(schema: unknown, id: string): object {
  return JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${id}${v}` : v)) as object;
}
