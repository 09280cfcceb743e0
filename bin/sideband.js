#!/usr/bin/env node
// The operator's entry point. TypeScript is loaded through tsx so that a checkout runs
// without a build step; the CLI itself lives in src/cli. The workspace packages
// (packages/*) are resolved to their TypeScript sources through their `sideband-source`
// export condition.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

registerHooks('data:text/javascript,' + encodeURIComponent(`export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, 'sideband-source'] }); }`));
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
