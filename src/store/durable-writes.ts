import { GroupCommit, type GroupCommitOptions } from './group-commit.ts';
import type { Db, Store, Tx } from './open-store.ts';

/**
 * The short write transactions of concurrent merchant requests (a signature's nonce, an
 * idempotency key, an authorization and its holds). On SQLite, where every commit waits
 * for an fsync and transactions run one at a time anyway, those queued while one commits
 * share the next commit (group-commit.ts): each caller still learns only after its own
 * write is durable, but thirty-two concurrent purchases cost a few fsyncs, not ninety-six.
 * On PostgreSQL each runs in its own transaction on the pool: the server already overlaps
 * concurrent commits, and one batch would serialize work ten connections do side by side.
 *
 * A job may run more than once (its batch rolled back because a neighbour failed): it
 * must change nothing outside its transaction and choose its ids before it is queued or
 * anew on each run.
 */
export class DurableWrites {
  private readonly group: GroupCommit | null;

  constructor(
    private readonly store: Store,
    options: GroupCommitOptions = {},
  ) {
    this.group = store.dialect === 'sqlite' ? new GroupCommit(store.db, { sqlite: store.sqlite, ...options }) : null;
  }

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.group ? this.group.run(work) : this.store.db.transaction().execute(work);
  }

  /**
   * One statement, durable when it resolves: on SQLite it joins the group commit like
   * `run`; on PostgreSQL it commits on its own, without the BEGIN and COMMIT round trips a
   * transaction around a single statement would cost.
   */
  one<T>(statement: (q: Db | Tx) => Promise<T>): Promise<T> {
    return this.group ? this.group.run(statement) : statement(this.store.db);
  }

  /** Waits for queued writes, then refuses new ones. */
  close(): Promise<void> {
    return this.group?.close() ?? Promise.resolve();
  }
}
