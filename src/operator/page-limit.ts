import { SidebandError } from '../errors/sideband-error.ts';

/** A list's `limit` query parameter: `fallback` when absent, else a whole number from 1 to `max`, or a 400 that says so. */
export function pageLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new SidebandError('FIELD_INVALID', `limit must be a whole number from 1 to ${max}.`, { param: 'limit' });
  return limit;
}
