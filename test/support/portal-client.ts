/**
 * A subscriber's browser reduced to what the portal's security rests on: one cookie jar
 * entry and the CSRF token of the last page. For the tests of refusals, where a real
 * browser would hide what is sent.
 */
export class PortalClient {
  cookie = '';
  csrf = '';

  /** `fetchImpl`: e.g. httpsFetch(ca) for a site behind a test's TLS proxy. */
  constructor(
    readonly origin: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The same browser (cookie and CSRF token) reaching another gateway, as a load balancer without sticky routing would send it. */
  at(origin: string): PortalClient {
    const other = new PortalClient(origin, this.fetchImpl);
    other.cookie = this.cookie;
    other.csrf = this.csrf;
    return other;
  }

  private remember(res: Response): void {
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location: string | null; headers: Headers }> {
    const res = await this.fetchImpl(this.origin + path, { headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...headers }, redirect: 'manual' });
    this.remember(res);
    const body = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(body);
    if (token) this.csrf = token[1]!;
    return { status: res.status, body, location: res.headers.get('location'), headers: res.headers };
  }

  async post(path: string, fields: Record<string, string>, options: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; location: string | null }> {
    const form = new URLSearchParams(fields);
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf !== null) form.set('_csrf', csrf);
    const res = await this.fetchImpl(this.origin + path, {
      method: 'POST', redirect: 'manual', body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.cookie ? { cookie: this.cookie } : {}), ...(options.headers ?? {}) },
    });
    this.remember(res);
    return { status: res.status, body: await res.text(), location: res.headers.get('location') };
  }

  /** Signs in; resolves with the status of the answer (303 on success). */
  async signIn(login: string, password: string): Promise<number> {
    await this.get('/login');
    return (await this.post('/login', { login, password })).status;
  }
}
