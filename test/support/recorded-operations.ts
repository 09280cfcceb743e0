import { SidebandApiError, type Authorization, type Movement, type SidebandClient } from '@sideband/merchant-sdk';

export type OperationKind = 'create' | 'capture' | 'refund';

/** One HTTP exchange the client had for an operation: an answer, or the error fetch threw. */
export type Received = { status: number; body: string } | { error: string };

/** One merchant operation under its own Idempotency-Key, and everything the client received for it. */
export interface Operation {
  kind: OperationKind;
  key: string;
  /** For captures and refunds: the authorization they move money on. */
  authorizationId: string | null;
  /** Repeats the very same request (same key, same body). */
  call: (client: SidebandClient) => Promise<Authorization | Movement>;
  received: Received[];
  /** The last call's result: a success, a refusal (a definitive 4xx), or none yet. */
  outcome: { ok: Authorization | Movement } | { refused: string } | { unanswered: string };
  /** Answered only by a later retry with the same key, after the load. */
  answeredLate: boolean;
}

/** Answers that leave an operation undecided: the SDK retries them, and so does a merchant that reconciles. */
const undecided = (e: unknown): boolean => !(e instanceof SidebandApiError) || e.status >= 500 || e.code === 'IDEMPOTENCY_KEY_IN_PROGRESS';

/**
 * The merchant's side of a crash test: every operation by its key, and a fetch wrapper
 * that records each response (or dropped connection) the SDK got, retries included.
 */
export class RecordedOperations {
  readonly byKey = new Map<string, Operation>();
  private readonly listeners: Array<() => void> = [];

  /** Wraps the SDK's fetch so that every exchange is recorded against its Idempotency-Key. */
  recording(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const key = (init?.headers as Record<string, string> | undefined)?.['idempotency-key'];
      const op = key === undefined ? undefined : this.byKey.get(key);
      try {
        const res = await inner(input, init);
        const body = await res.text();
        op?.received.push({ status: res.status, body });
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      } catch (e) {
        op?.received.push({ error: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    };
  }

  /** Calls `onAttempt` each time an operation is first sent. */
  onAttempt(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Runs a new operation; resolves with its success, or null when it was refused or left undecided. */
  async run<T extends Authorization | Movement>(client: SidebandClient, kind: OperationKind, key: string, authorizationId: string | null, call: (client: SidebandClient) => Promise<T>): Promise<T | null> {
    if (this.byKey.has(key)) throw new Error(`key ${key} used twice by the test`);
    const op: Operation = { kind, key, authorizationId, call, received: [], outcome: { unanswered: 'not sent' }, answeredLate: false };
    this.byKey.set(key, op);
    for (const listener of this.listeners) listener();
    return (await this.attempt(client, op)) as T | null;
  }

  /** Retries every undecided operation with its own key until each is decided or `deadline` passes. */
  async settle(client: SidebandClient, deadline: number, pauseMs = 250): Promise<void> {
    for (;;) {
      const open = this.undecided();
      if (open.length === 0 || Date.now() > deadline) return;
      for (const op of open) {
        if ((await this.attempt(client, op)) !== null || 'refused' in op.outcome) op.answeredLate = true;
      }
      if (this.undecided().length > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  undecided(): Operation[] {
    return [...this.byKey.values()].filter((op) => 'unanswered' in op.outcome);
  }

  all(): Operation[] {
    return [...this.byKey.values()];
  }

  private async attempt(client: SidebandClient, op: Operation): Promise<Authorization | Movement | null> {
    try {
      const ok = await op.call(client);
      op.outcome = { ok };
      return ok;
    } catch (e) {
      op.outcome = undecided(e) ? { unanswered: e instanceof SidebandApiError ? e.code : 'network' } : { refused: (e as SidebandApiError).code };
      return null;
    }
  }
}

/** The successful answers (2xx) the client received for an operation, in order. */
export const successesOf = (op: Operation): Array<{ status: number; body: string }> =>
  op.received.filter((r): r is { status: number; body: string } => 'status' in r && r.status >= 200 && r.status < 300);
