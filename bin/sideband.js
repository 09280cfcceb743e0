#!/usr/bin/env node
// The operator's entry point. TypeScript is loaded through tsx so that a checkout runs
// without a build step; the CLI itself lives in src/cli.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
