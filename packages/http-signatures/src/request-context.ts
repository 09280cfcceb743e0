import { collectFieldLines, type FieldLines, type HttpFields } from './http-fields.ts';
import { parseTargetUri, type TargetUri } from './target-uri.ts';

/**
 * What component values are taken from (RFC 9421 §2: the "signature context"): the
 * request's method, its target URI and its header fields.
 */
export interface RequestContext {
  readonly method: string;
  /** Null when the target URI is not an absolute http(s) URI; deriving from it then fails. */
  readonly target: TargetUri | null;
  readonly fields: FieldLines;
}

export function requestContext(method: string, targetUri: string, headers: HttpFields): RequestContext {
  return { method, target: parseTargetUri(targetUri), fields: collectFieldLines(headers) };
}
