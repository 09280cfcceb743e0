import { redactCardNumbers } from '../observability/redact.ts';
import { errorRegistry, type ErrorCode, type ErrorType } from './registry.ts';

/**
 * The one error class Sideband throws on purpose. Its message must never carry a secret
 * (a card or licence number, a password, a key): callers pass masked values only.
 */
export class SidebandError extends Error {
  readonly code: ErrorCode;
  /** The request field or setting the error is about, when there is one. */
  readonly param: string | undefined;
  /** Seconds after which a retry may succeed (sent as Retry-After), when known. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { param?: string; cause?: unknown; retryAfterSeconds?: number }) {
    super(message ?? errorRegistry[code].cause, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SidebandError';
    this.code = code;
    this.param = options?.param;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get status(): number {
    return errorRegistry[this.code].status;
  }

  get type(): ErrorType {
    return errorRegistry[this.code].type;
  }

  /** The API's error shape: `{ error: { type, code, message, param? } }`. */
  toBody(): { error: { type: ErrorType; code: ErrorCode; message: string; param?: string } } {
    // A message may quote what the client sent (an id, a login): a card number it held is masked, as in the logs.
    return { error: { type: this.type, code: this.code, message: redactCardNumbers(this.message), ...(this.param ? { param: this.param } : {}) } };
  }
}

export const isSidebandError = (e: unknown): e is SidebandError => e instanceof SidebandError;
