import { SidebandError } from '../../errors/sideband-error.ts';

/**
 * A request's raw body as JSON (undefined when empty). The routes keep the raw bytes
 * because the signature's Content-Digest covers them, so they parse it themselves.
 */
export function parseJsonBody(raw: Buffer | undefined): unknown {
  if (!raw || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SidebandError('BODY_MALFORMED', 'The body is not valid JSON.');
  }
}
