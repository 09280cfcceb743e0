import type { HttpFields } from './http-fields.ts';

/** An HTTP request as the signer sends it or the verifier received it. */
export interface HttpRequest {
  /** The request method; `@method` is its uppercase form. */
  readonly method: string;
  /** The full absolute target URI (`https://host/path?query`), the value of `@target-uri`. */
  readonly url: string | URL;
  readonly headers: HttpFields;
  /** The content as sent; a string is taken as UTF-8. Absent means no content. */
  readonly body?: Uint8Array | string;
}

export function bodyBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}
