#!/usr/bin/env node
// The operator's entry point: the compiled CLI (dist/, from `npm run build`), plain
// JavaScript with no TypeScript loader. `npm ci` and `npm start` build it when needed.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('sideband: dist/ is missing; build it first with `npm run build` (npm ci and npm start do).');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
