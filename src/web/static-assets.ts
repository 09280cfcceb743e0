import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };

/** Serves the named files of src/web/assets under `prefix`, read once at start-up. */
export function serveAssets(app: FastifyInstance, prefix: string, names: readonly string[]): void {
  for (const name of names) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    app.get(`${prefix}/${name}`, async (_request, reply) => reply.header('cache-control', 'no-cache').type(type).send(body));
  }
}
