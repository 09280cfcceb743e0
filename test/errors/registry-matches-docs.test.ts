import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorRegistry } from '../../src/errors/registry.ts';

describe('the error registry and docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z0-9_]+)` \| (\d+) \| (\w+) \| (.*) \| (.*) \|$/gm)].map((m) => [m[1]!, { status: Number(m[2]), type: m[3]!, cause: m[4]!, fix: m[5]! }]));

  it('documents every code in the registry, with the same status and type', () => {
    for (const [code, def] of Object.entries(errorRegistry)) {
      const d = documented.get(code);
      assert.ok(d, `${code} is missing from docs/errors.md (run scripts/write-errors-doc.ts)`);
      assert.equal(d.status, def.status, `${code} status`);
      assert.equal(d.type, def.type, `${code} type`);
      assert.equal(d.fix, def.fix, `${code} fix`);
    }
  });

  it('documents no code the registry lacks', () => {
    for (const code of documented.keys()) assert.ok(code in errorRegistry, `${code} is documented but not in the registry`);
  });

  it('every definition says what happened and what to do', () => {
    for (const [code, def] of Object.entries(errorRegistry)) {
      assert.ok(def.cause.length > 10 && def.fix.length > 5, code);
      assert.ok(def.status >= 400 && def.status < 600, code);
    }
  });
});
