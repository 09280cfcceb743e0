#!/usr/bin/env node
// `npm run build`: compiles the workspace packages (each to its dist/), then the gateway
// (src/ → dist/), so that `sideband` runs as plain JavaScript with no TypeScript loader.
// The packages come first because the gateway compiles against their declarations,
// through their exports maps, as any other consumer would.
//
//   node scripts/build.js             build everything
//   node scripts/build.js --if-stale  build only when a source is newer than the last build
//                                     (`npm start` and the test runner use this)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
/** In dependency order: a package builds after those it imports. The gateway's core does
 * not use the merchant SDK, but its demo store and a checkout's own scripts
 * (docs/merchant-quickstart.md) import it, so it is built too, by its own script (bundles; see packages/merchant-sdk/scripts/build.js). */
const packages = ['http-signatures', 'sip', 'channel', 'merchant-sdk'];
const ownBuild = { 'merchant-sdk': ['scripts/build.js'] };
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

const inputs = () => Math.max(
  newest(join(root, 'src')),
  ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => newest(join(root, f))),
  ...packages.flatMap((p) => ['src', 'package.json', 'tsconfig.json', 'scripts'].map((f) => newest(join(root, 'packages', p, f)))),
);

export function isStale() {
  return !existsSync(stamp) || statSync(stamp).mtimeMs < inputs();
}

export function build({ log = (line) => console.log(line) } = {}) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const p of packages) {
    log(`# building @sideband/${p}`);
    const dir = join(root, 'packages', p);
    execFileSync(process.execPath, ownBuild[p] ?? [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'inherit' });
  }
  log('# building the gateway (dist/)');
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  mkdirSync(join(root, 'dist'), { recursive: true });
  // What the pages serve as files (stylesheets, their scripts) sits beside the code that reads it.
  cpSync(join(root, 'src'), join(root, 'dist'), { recursive: true, filter: (from) => statSync(from).isDirectory() || !from.endsWith('.ts') });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  if (process.argv.includes('--if-stale') && !isStale()) process.exit(0);
  build();
}
