import { errorRegistry, type ErrorType } from '../errors/registry.ts';
import { SidebandError } from '../errors/sideband-error.ts';

/** Exit codes by error type, stable for scripts (sysexits-like where one fits); README and docs/errors.md list the same. */
export const exitCodes: Record<ErrorType, number> = {
  invalid_request: 65,
  not_found: 66,
  conflict: 67,
  configuration: 78,
  unavailable: 69,
  authentication: 77,
  permission: 77,
  declined: 68,
  internal: 70,
};

export interface Output {
  json: boolean;
  /** A result: JSON when --json, else the human rendering. */
  result(value: unknown, human?: (value: never) => string): void;
  /** Progress and notices go to stderr so that stdout stays parseable. */
  note(message: string): void;
}

export function createOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s), writeErr: (s: string) => void = (s) => process.stderr.write(s)): Output {
  return {
    json,
    result(value, human) {
      if (json || !human) write(JSON.stringify(value, null, json ? 2 : 2) + '\n');
      else write(human(value as never) + '\n');
    },
    note(message) {
      writeErr(message + '\n');
    },
  };
}

/** Prints an error with its code and fix; returns the exit code. */
export function reportError(e: unknown, json: boolean, writeErr: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (e instanceof SidebandError) {
    const def = errorRegistry[e.code];
    if (json) writeErr(JSON.stringify({ error: { code: e.code, type: e.type, message: e.message, ...(e.param ? { param: e.param } : {}) } }) + '\n');
    else writeErr(`error ${e.code}: ${e.message}\n  fix: ${def.fix}\n`);
    return exitCodes[e.type];
  }
  const message = e instanceof Error ? e.message : String(e);
  writeErr(json ? JSON.stringify({ error: { code: 'INTERNAL', message } }) + '\n' : `error INTERNAL: ${message}\n`);
  return 70;
}

/** A fixed-width table for human output. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}
