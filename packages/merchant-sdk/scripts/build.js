#!/usr/bin/env node
// Builds @sideband/merchant-sdk as it ships (`npm run build` here; `npm pack` runs it too):
//
//   dist/index.js, dist/channel.js      ES modules
//   dist/index.cjs, dist/channel.cjs    CommonJS, the same code
//   dist/*.d.ts, dist/*.d.cts           declarations for import and for require
//
// The @sideband/* workspace packages the SDK uses are bundled into it (esbuild, reading
// their TypeScript through the `sideband-source` condition), so the published package has
// no runtime dependency at `.` nor at `./channel`; only node: built-ins stay imports.
// Declarations: tsc emits the SDK's own, against the workspace packages' built declarations
// (the root `npm run build` makes them first), and rollup-plugin-dts folds those in. The
// channel's declarations import the client's types from `@sideband/merchant-sdk` itself
// rather than carrying a second copy: SidebandClient has private members, so two
// declarations of it would be two types, and a client would not fit MerchantChannel.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';

const here = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const entries = { index: 'src/index.ts', channel: 'src/channel/index.ts' };
const types = join(here, 'build', 'types');

for (const p of ['@sideband/http-signatures', '@sideband/channel']) {
  try {
    require.resolve(p);
  } catch {
    console.error(`merchant-sdk: ${p} is not built; run \`npm run build\` at the repository's root first.`);
    process.exit(1);
  }
}

rmSync(join(here, 'dist'), { recursive: true, force: true });
rmSync(join(here, 'build'), { recursive: true, force: true });

for (const [format, ext] of [['esm', 'js'], ['cjs', 'cjs']]) {
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, src]) => [name, join(here, src)])),
    outdir: join(here, 'dist'),
    outExtension: { '.js': `.${ext}` },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    conditions: ['sideband-source'],
    logLevel: 'warning',
  });
}

const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json'), '--emitDeclarationOnly', '--declaration', '--outDir', types], { cwd: here, stdio: 'inherit' });

/** A relative import of the client's own modules from the channel's declarations. */
const ownModule = /^\.\.\/(client|types|api-types|webhook-verification|index)(\.d)?(\.ts|\.js)?$/;
for (const [name, src] of Object.entries(entries)) {
  const input = join(types, src.replace(/^src\//, '').replace(/\.ts$/, '.d.ts'));
  const bundle = await rollup({
    input,
    external: (id) => id.startsWith('node:') || id === '@sideband/merchant-sdk',
    plugins: [
      {
        name: 'client-types-from-the-package',
        resolveId: (source, importer) => (name === 'channel' && importer && resolve(dirname(importer)) === join(types, 'channel') && ownModule.test(source) ? { id: '@sideband/merchant-sdk', external: true } : null),
      },
      dts({ respectExternal: true, tsconfig: join(here, 'tsconfig.json') }),
    ],
  });
  await bundle.write({ file: join(here, 'dist', `${name}.d.ts`), format: 'es' });
  await bundle.close();
  copyFileSync(join(here, 'dist', `${name}.d.ts`), join(here, 'dist', `${name}.d.cts`));
}
rmSync(join(here, 'build'), { recursive: true, force: true });
