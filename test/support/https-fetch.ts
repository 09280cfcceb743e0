import { request } from 'node:https';

/**
 * A `fetch` for the SDK that trusts one extra CA (a test's self-signed certificate). The
 * global fetch takes its trust from NODE_EXTRA_CA_CERTS, read once at start, and undici
 * (which would take a `connect: { ca }` dispatcher) is not a dependency; node:https takes
 * `ca` per request. Only what the SDK uses is supported: a string URL, method, headers, a
 * string body and an abort signal. No connection is pooled, so nothing outlives a test.
 */
export function httpsFetch(ca: string): typeof fetch {
  return (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers, ca, agent: false, signal: init.signal ?? undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v);
          }
          const status = res.statusCode ?? 502;
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}
