import type fc from 'fast-check';

/**
 * fast-check commands that check `invariants` against the real system after each one
 * runs, so that a failure's shrunk report ends at the command that broke them.
 */
export function checkedAfterEach<M extends object, R>(cmds: Iterable<fc.AsyncCommand<M, R>>, invariants: (model: M, real: R) => Promise<void>): fc.AsyncCommand<M, R>[] {
  return [...cmds].map((c) => ({
    check: (model: Readonly<M>) => c.check(model),
    run: async (model: M, real: R) => {
      await c.run(model, real);
      await invariants(model, real);
    },
    toString: () => c.toString(),
  }));
}
