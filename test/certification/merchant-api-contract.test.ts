import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { merchantErrorCodes, outcomeReasons } from '../../src/certification/api/contract/merchant-api-schemas.ts';
import { merchantRoutes, openApiDocument } from '../../src/certification/api/openapi.ts';
import { errorRegistry } from '../../src/errors/registry.ts';
import { renderSdkTypes, sdkTypesPath } from '../../scripts/generate-sdk-types.ts';

/**
 * The merchant API's contract is declared once (contract/merchant-api-schemas.ts); the
 * parsers, the OpenAPI document and the SDK's types derive from it. Responses are checked
 * against the served document in openapi-responses.test.ts.
 */
describe('the merchant API contract', () => {
  it('the SDK\'s types are generated from it and current', () => {
    assert.equal(readFileSync(sdkTypesPath, 'utf8'), renderSdkTypes(), 'run: node -C sideband-source --import tsx scripts/generate-sdk-types.ts');
  });

  it('the document lists every route once, the channel\'s included', () => {
    const listed = merchantRoutes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    assert.equal(new Set(listed).size, listed.length);
    for (const route of ['POST /v1/channel/exchanges', 'GET /v1/channel/exchanges/{id}', 'GET /v1/channel']) assert.ok(listed.includes(route), route);
    for (const r of merchantRoutes) assert.ok((openApiDocument.paths[r.path] as Record<string, unknown>)[r.method], `${r.method} ${r.path}`);
  });

  it('documents every error and reason code with its registry entry', () => {
    const text = openApiDocument.info.description;
    for (const c of [...merchantErrorCodes, ...outcomeReasons]) {
      assert.ok(c in errorRegistry, `${c} is in the registry`);
      assert.ok(text.includes(`\`${c}\``), `${c} is described in the document`);
    }
  });
});
