import type { ServerOptions } from 'node:http';
import type { Config } from '../config/schema.ts';

/**
 * The limits every HTTP listener applies (README, "HTTP listeners"): headers within
 * `headersTimeoutSeconds`, the whole request within `requestTimeoutSeconds` (Node answers
 * 408 and closes), headers of at most `maxHeaderBytes` (431), a body of at most
 * `bodyLimit` (413, per listener), and idle keep-alive connections closed after
 * `keepAliveTimeoutSeconds`, so a slow or silent client cannot hold a connection.
 */
export interface HttpListenerOptions {
  bodyLimit: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
  http: ServerOptions;
}

export function httpLimits(http: Config['http'], bodyLimit: number): HttpListenerOptions {
  const requestTimeout = http.requestTimeoutSeconds * 1000;
  const headersTimeout = Math.min(http.headersTimeoutSeconds * 1000, requestTimeout);
  return {
    bodyLimit,
    requestTimeout,
    keepAliveTimeout: http.keepAliveTimeoutSeconds * 1000,
    // A connection that goes quiet is closed too (socket idle timeout), a second after the request timeout so that the 408 goes first.
    connectionTimeout: requestTimeout + 1000,
    http: {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout,
      requestTimeout,
      // Node checks the two timeouts this often (default 30 s); a fraction of the shortest keeps them honest.
      connectionsCheckingInterval: Math.max(250, Math.min(1000, headersTimeout / 4)),
    },
  };
}
