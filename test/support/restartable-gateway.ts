import { spawnGateway, type SpawnedGateway } from './spawn-gateway.ts';

/** Where one run of the gateway listens, read from what `sideband start` printed. */
export type ListenMap = Record<string, string>;

function listenMapOf(stdout: string): ListenMap {
  const map: ListenMap = {};
  for (const m of stdout.matchAll(/^ {2}(\w+)\s+(\S+:\d+)$/gm)) map[m[1]!] = m[2]!;
  return map;
}

/**
 * A `sideband start` process that a test SIGKILLs and starts again on the same data
 * directory and database, as a power cut and a supervisor would. Every listener takes an
 * ephemeral port, so each run listens somewhere else; `fetch` reaches the merchant API of
 * the run that is up now, waiting (boundedly) while none is. The gateway is told its
 * public origin (`merchantApi.publicOrigin`), so requests signed for that origin verify
 * whichever port carried them.
 */
export class RestartableGateway {
  /** SIGKILLs so far. */
  kills = 0;
  /** How long each restart took to print that it runs, in ms. */
  readonly restartMs: number[] = [];
  private current: SpawnedGateway | null = null;
  private listen: ListenMap = {};
  private waiting: Array<() => void> = [];

  private constructor(
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(args: string[], env: NodeJS.ProcessEnv): Promise<RestartableGateway> {
    const gw = new RestartableGateway(args, env);
    await gw.run();
    return gw;
  }

  /** The listen map of the run that is up (throws while none is). */
  where(): ListenMap {
    if (!this.current) throw new Error('no gateway is running');
    return this.listen;
  }

  /** SIGKILL (no shutdown of any kind), then start again on the same data; `whileDown` runs in between. */
  async crash(whileDown?: () => Promise<void>): Promise<void> {
    const victim = this.current;
    if (!victim) throw new Error('no gateway is running');
    this.current = null;
    await new Promise<void>((resolve) => {
      victim.child.once('exit', () => resolve());
      victim.child.kill('SIGKILL');
    });
    this.kills++;
    await whileDown?.();
    const t0 = Date.now();
    await this.run();
    this.restartMs.push(Date.now() - t0);
  }

  /** A graceful stop (SIGTERM); resolves with the exit code. */
  async stop(): Promise<number | null> {
    const gw = this.current;
    this.current = null;
    return gw ? gw.stop('SIGTERM') : null;
  }

  /**
   * A fetch for the SDK: the request's origin is replaced by the merchant API of the run
   * that is up, after waiting up to `waitMs` for one. A run killed mid-request fails it
   * as a dropped connection does.
   */
  fetchFor(waitMs = 15_000): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const merchantHttp = await this.merchantHttp(waitMs);
      return fetch(`http://${merchantHttp}${url.pathname}${url.search}`, init);
    };
  }

  private async merchantHttp(waitMs: number): Promise<string> {
    if (!this.current) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no gateway came up within ${waitMs} ms`)), waitMs);
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.listen.merchantHttp!;
  }

  private async run(): Promise<void> {
    const gw = await spawnGateway(this.args, this.env);
    this.listen = listenMapOf(gw.stdout());
    if (!this.listen.merchantHttp) throw new Error(`the gateway printed no merchantHttp address:\n${gw.stdout()}`);
    this.current = gw;
    for (const wake of this.waiting.splice(0)) wake();
  }
}
