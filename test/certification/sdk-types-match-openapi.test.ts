import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizationFields, authorizationStatuses, createAuthorizationFields, customerFields, movementFields, webhookEventFields, webhookEventTypes } from '@sideband/merchant-sdk';
import { openApiDocument } from '../../src/certification/api/openapi.ts';
import { errorRegistry } from '../../src/errors/registry.ts';

type Schema = { properties?: Record<string, { enum?: readonly unknown[] }>; required?: readonly string[] };
const schemas = openApiDocument.components.schemas as unknown as Record<string, Schema>;
const keys = (s: string) => Object.keys(schemas[s]!.properties!).sort();

describe('the SDK\'s types and the OpenAPI document', () => {
  it('name the same fields for every object', () => {
    assert.deepEqual(Object.keys(authorizationFields).sort(), keys('Authorization'));
    assert.deepEqual(Object.keys(createAuthorizationFields).sort(), keys('CreateAuthorization'));
    assert.deepEqual(Object.keys(customerFields).sort(), keys('Customer'));
    assert.deepEqual(Object.keys(movementFields).sort(), keys('Movement'));
    assert.deepEqual(Object.keys(webhookEventFields).sort(), keys('WebhookEvent'));
  });

  it('agree on statuses and event types', () => {
    assert.deepEqual([...schemas.Authorization!.properties!.status!.enum!].sort(), [...authorizationStatuses].sort());
    assert.deepEqual([...schemas.WebhookEvent!.properties!.type!.enum!].sort(), [...webhookEventTypes].sort());
  });

  it('documents every reason code with its registry entry', () => {
    const text = openApiDocument.info.description;
    const codes = [...(schemas.Error!.properties!.error as unknown as Schema).properties!.code!.enum!, ...schemas.Authorization!.properties!.reason!.enum!.filter((c) => c !== null)] as string[];
    assert.ok(codes.length > 30);
    for (const c of codes) {
      assert.ok(c in errorRegistry, `${c} is in the registry`);
      assert.ok(text.includes(`\`${c}\``), `${c} is described in the document`);
    }
  });
});
