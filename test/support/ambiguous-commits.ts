import type { Db } from '../../src/store/open-store.ts';

/** The database, except that the first `times` transactions commit and then report a lost connection: an ambiguous COMMIT. */
export function ambiguousCommits(db: Db, times: number): Db {
  let left = times;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return () => {
        const builder = target.transaction();
        return {
          execute: async <T>(fn: Parameters<typeof builder.execute<T>>[0]): Promise<T> => {
            const result = await builder.execute(fn);
            if (left-- > 0) throw Object.assign(new Error('server closed the connection during COMMIT'), { code: '08006' });
            return result;
          },
        };
      };
    },
  });
}
