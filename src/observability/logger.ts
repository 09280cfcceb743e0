import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactLogLine, redactedFields } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout unless given. Tests pass a file in SIDEBAND_TEST_LOG_DIR. */
  destination?: DestinationStream | NodeJS.WritableStream;
  name?: string;
}

/**
 * Structured JSON logs. Two layers keep card numbers out: known field names are censored,
 * and every string value of every line is scanned for Luhn-valid digit runs before it is
 * written, which also catches a number inside an error message or a free-text field;
 * numbers and the line's JSON shape are left alone (redactLogLine).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.name ?? 'sideband' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedFields, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: redactLogLine },
    },
    (options.destination ?? process.stdout) as DestinationStream,
  );
}

/** A logger writing into the test suite's log directory, which test/never-in-clear scans. */
export function createTestLogger(name: string): Logger {
  const dir = process.env.SIDEBAND_TEST_LOG_DIR;
  if (!dir) return createLogger({ level: 'silent' });
  mkdirSync(dir, { recursive: true });
  return createLogger({ level: 'debug', name, destination: createWriteStream(join(dir, `${name}-${process.pid}.log`), { flags: 'a' }) });
}
