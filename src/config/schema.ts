import { z } from 'zod';
import { parseCidr } from '../core/network/cidr.ts';
import { exchangeLimitsSchema } from '../channel/exchange/exchange-limits.ts';

const port = z.number().int().min(0).max(65535);
const listenHost = z.string().min(1);

/**
 * An origin, `scheme "://" host [ ":" port ]` with scheme http or https and nothing after
 * (a lone "/" is tolerated), kept as the WHATWG URL serialises it (lowercase host, default
 * port dropped): exactly what the SDK puts into a signature's @target-uri.
 */
const origin = z.string().transform((text, ctx) => {
  const fail = (why: string) => {
    // Never repeat user information: it may be a password.
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text.replace(/\/\/[^/@]*@/, '//…@'))} ${why}; give an origin such as https://pay.isp.example` });
    return z.NEVER;
  };
  if (!/^https?:\/\/[^/?#]+\/?$/i.test(text)) return fail('is not http(s)://host[:port] without path, query or fragment');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a URL');
  }
  if (url.username !== '' || url.password !== '') return fail('carries user information');
  return url.origin;
});

/** A list of address ranges (a bare address is a /32 or /128), kept in canonical text. */
const cidrList = z.array(
  z.string().transform((text, ctx) => {
    try {
      return parseCidr(text).text;
    } catch {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not an address range such as 198.51.100.0/24 (host bits must be zero)` });
      return z.NEVER;
    }
  }),
);

/**
 * The one schema for every setting. Defaults are what a development start on a fresh
 * checkout needs; the README's configuration table lists the same settings.
 */
export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** postgres://… selects PostgreSQL; absent means SQLite in dataDir. */
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    /** Creates the demo subscriber, NAS and merchant on first start. */
    demo: z.boolean().default(true),
    listen: z
      .object({
        host: listenHost.default('127.0.0.1'),
        radiusAuth: port.default(1812),
        radiusAcct: port.default(1813),
        operatorHttp: port.default(7080),
        merchantHttp: port.default(7443),
        netflow: port.default(2055),
        ipfix: port.default(4739),
        /** The subscriber portal: reachable by subscribers, so apart from the operator port. */
        portalHttp: port.default(7081),
        /** The demo merchant store the development start runs beside the gateway (only with demo data). */
        demoStoreHttp: port.default(7090),
        /** RADIUS over TLS (RFC 6614; TCP), served only when `radsec` names its certificate files. */
        radsec: port.default(2083),
      })
      .strict()
      .prefault({}),
    /** Limits every HTTP listener (operator, merchant, portal) applies to each connection. */
    http: z
      .object({
        /** The request line and headers must arrive within this (else 408 and the connection is closed). */
        headersTimeoutSeconds: z.number().int().min(1).max(300).default(10),
        /** The whole request, body included, must arrive within this (else 408). */
        requestTimeoutSeconds: z.number().int().min(1).max(600).default(30),
        /** An idle keep-alive connection is closed after this. */
        keepAliveTimeoutSeconds: z.number().int().min(1).max(600).default(5),
        /** Request line and headers together, in bytes (else 431). */
        maxHeaderBytes: z.number().int().min(1024).max(65536).default(16384),
      })
      .strict()
      .prefault({}),
    /** The subscriber portal and the operator console (README, "Web pages"). */
    web: z
      .object({
        /** Proxies in front of the portal and console (a TLS terminator) whose Forwarded / X-Forwarded-Proto / -Host / -For are believed, like merchantApi.trustedProxies. */
        trustedProxies: cidrList.default([]),
        /** Browsers one subscriber (or operator) may be signed in with at once; one more sign-in ends the least recently used. */
        sessionsPerSubject: z.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .prefault({}),
    vault: z
      .object({
        /** Path of the keyring file; relative paths are inside dataDir. */
        keyFile: z.string().min(1).default('master-keys.json'),
      })
      .strict()
      .prefault({}),
    radius: z
      .object({
        /** Seconds an address freed by Stop stays out of the pool. */
        holdDownSeconds: z.number().int().min(0).max(86_400).default(60),
        /** Acct-Interim-Interval sent in Access-Accept; 0 leaves it out. */
        interimIntervalSeconds: z.number().int().min(0).max(86_400).default(300),
        /** A session with no accounting for this long is closed by the sweeper. */
        staleSessionSeconds: z.number().int().min(60).max(30 * 86_400).default(3 * 3600),
        /** Failed log-ins allowed per login, NAS and Calling-Station-Id within failureWindowSeconds before throttling. */
        maxFailures: z.number().int().min(1).max(1000).default(5),
        /** Failed log-ins allowed per login and NAS from all calling stations together within failureWindowSeconds; a guesser cannot reset it by changing Calling-Station-Id. */
        maxFailuresPerLogin: z.number().int().min(1).max(10_000).default(20),
        failureWindowSeconds: z.number().int().min(1).max(86_400).default(60),
        /** Accounting dated further back than this (Event-Timestamp, or Acct-Delay-Time) is dropped: a NAS's buffer holds hours, not days. */
        maxAccountingDelaySeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
        /** An Event-Timestamp this far ahead of our clock is taken as the arrival time; further ahead, the request is dropped. */
        maxClockAheadSeconds: z.number().int().min(0).max(3600).default(60),
        /** An Accounting Start claiming an address another live session holds: `trust-nas` moves the address, `refuse` keeps it where it is. */
        addressConflict: z.enum(['trust-nas', 'refuse']).default('trust-nas'),
        /** Per-NAS token bucket: its refill in requests per second; a NAS over it is shed first when the server is busy. */
        requestsPerSecondPerNas: z.number().int().min(1).max(1_000_000).default(500),
        /** Per-NAS token bucket depth: requests a NAS may send at once (a BNG's reboot storm) within its rate. */
        burstPerNas: z.number().int().min(1).max(1_000_000).default(2000),
        /** Admitted requests in progress beyond which nothing new is admitted; over-rate NASes are shed from half of it. */
        maxPendingRequests: z.number().int().min(2).max(1_000_000).default(1000),
        /** Disconnect- and CoA-Requests to NASes (RFC 5176; docs/radius.md). */
        dynamicAuthorization: z
          .object({
            /** Wait for the first answer; each retry waits twice as long as the one before. */
            timeoutMs: z.number().int().min(10).max(60_000).default(2000),
            /** Sends in all, the first included, before the outcome is "no answer". */
            attempts: z.number().int().min(1).max(10).default(3),
            /** How often the gateway holding the job looks for requests queued from the command line (PostgreSQL also wakes it at once). */
            pollMs: z.number().int().min(10).max(60_000).default(1000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** RADIUS over TLS (RFC 6614, docs/radius.md): off unless all three files are given. */
    radsec: z
      .object({
        /** PEM files, relative to dataDir unless absolute: the gateway's certificate (chain), its key, and the CA(s) that issue NAS certificates. */
        certificateFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        caFile: z.string().min(1).optional(),
        /** A connection with no request for this long is closed (NASes keep theirs alive with Status-Server). */
        idleTimeoutSeconds: z.number().int().min(5).max(86_400).default(300),
        handshakeTimeoutSeconds: z.number().int().min(1).max(120).default(10),
        maxConnections: z.number().int().min(1).max(100_000).default(1000),
        /** Requests in progress on one connection before it is no longer read (256 Identifiers, RFC 6613 §2.6.5). */
        maxPendingPerConnection: z.number().int().min(1).max(256).default(256),
      })
      .strict()
      .superRefine((r, ctx) => {
        const given = [r.certificateFile, r.keyFile, r.caFile].filter((f) => f !== undefined).length;
        if (given !== 0 && given !== 3) ctx.addIssue({ code: 'custom', message: 'RadSec needs radsec.certificateFile, radsec.keyFile and radsec.caFile together (or none of them, to leave it off)' });
      })
      .prefault({}),
    merchantApi: z
      .object({
        /** The seed's destination check: a recent visit to the merchant's networks, the last destination only, or none. */
        destinationCheck: z.enum(['recent', 'last', 'off']).default('recent'),
        destinationWindowMinutes: z.number().int().min(1).max(24 * 60).default(30),
        /** An approved authorization not captured within this is released. */
        captureWindowHours: z.number().int().min(1).max(30 * 24).default(7 * 24),
        /** A pending authorization the subscriber does not confirm within this is declined. */
        confirmationMinutes: z.number().int().min(1).max(24 * 60).default(15),
        /** Signatures older than this, or expiring later than this ahead, are refused. */
        signatureMaxAgeSeconds: z.number().int().min(10).max(3600).default(300),
        /** The oldest customer.observedAt accepted: the customer must be there now. */
        observedMaxAgeSeconds: z.number().int().min(10).max(3600).default(300),
        /** How long after the customer's session (or its hold on the address) ended a purchase is still accepted. */
        presenceGraceSeconds: z.number().int().min(0).max(3600).default(60),
        /** The origin merchants sign requests for when a proxy in front of the merchant port changes scheme or host. */
        publicOrigin: origin.optional(),
        /** Proxies whose Forwarded / X-Forwarded-Proto / X-Forwarded-Host are believed when rebuilding @target-uri. */
        trustedProxies: cidrList.default([]),
        /** Development only: a CAMARA `sink` may be http to a loopback address (the documents require https). */
        camaraSinkLoopbackHttp: z.boolean().default(false),
        /**
         * Whether webhooks and CAMARA notifications may go to private, loopback, link-local
         * or CGNAT addresses (checked on the address connected to). Merchants name these URLs:
         * `allow` only where every merchant's receiver is inside the provider's network. Unset:
         * `allow` on a development start (`demo`, whose quickstart receives on 127.0.0.1), else `refuse`.
         */
        webhookPrivateTargets: z.enum(['refuse', 'allow']).optional(),
      })
      .strict()
      .prefault({}),
    channel: z
      .object({
        /** Runs the provider's end of the secure channel (and, with exchange.builtIn, the exchange). */
        enabled: z.boolean().default(true),
        /** The provider's own line: the number it calls from (merchants check it as the caller's number). */
        lineNumber: z.string().regex(/^\+?[0-9]{3,20}$/, 'must be a telephone number such as +15550100000').default('+15550100000'),
        /** Numbers merchants may be given to call the provider on (the seed's modem pool). */
        numbers: z.array(z.string().regex(/^\+?[0-9]{3,20}$/)).default(['+15550100001', '+15550100002', '+15550100003', '+15550100004']),
        /** Address the call's media (TLS) listens on: the separate network's, not the Internet-facing one. */
        mediaAddress: z.string().min(1).default('127.0.0.1'),
        reservationSeconds: z.number().int().min(1).max(3600).default(30),
        exchange: z
          .object({
            /** Run the built-in exchange in this process (`sideband exchange` runs it alone). */
            builtIn: z.boolean().default(true),
            host: z.string().min(1).default('127.0.0.1'),
            /** The exchange's SIP port; 0 picks one (built-in only). */
            port: z.number().int().min(0).max(65535).default(5070),
            transport: z.enum(['udp', 'tcp']).default('udp'),
            /** Per-source limits of the built-in exchange, UDP and TCP (docs/secure-channel.md, "Fairness under abuse"). */
            limits: exchangeLimitsSchema.prefault({}),
            username: z.string().min(1).default('provider'),
            /** The provider line's password; generated on first start and kept in the vault when absent (never a default). */
            password: z.string().min(8).optional(),
            /** Lines of the built-in exchange besides the provider's own: merchants' endpoints. */
            lines: z.array(z.object({ username: z.string().min(1), password: z.string().min(8), numbers: z.array(z.string().regex(/^\+?[0-9]{3,20}$/)).min(1), reverseCharge: z.array(z.string()).optional() }).strict()).default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    tracking: z
      .object({
        /** Recent destinations kept per session (the oldest is dropped). */
        destinationsPerSession: z.number().int().min(1).max(10_000).default(64),
        /** Destinations older than this are forgotten. */
        destinationMaxAgeMinutes: z.number().int().min(1).max(7 * 24 * 60).default(24 * 60),
        /** Sessions each exporter may hold destinations for, so one exporter cannot crowd out another. */
        sessionsPerExporter: z.number().int().min(1).max(10_000_000).default(500_000),
        /** A flow or pushed observation up to this many seconds outside a binding is attributed to it when nobody else held the address then. */
        clockSkewSeconds: z.number().int().min(0).max(60).default(2),
        /** Exporters allowed besides those registered with `sideband exporter add`. */
        exporters: z.array(z.object({ name: z.string().min(1), address: z.string().min(1) }).strict()).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Settings that were renamed or removed, with what replaced them. */
export const renamedSettings: Readonly<Record<string, string>> = {
  database: 'databaseUrl',
  masterKeyFile: 'vault.keyFile',
};

/** SIDEBAND_* environment variables and the setting each one sets. */
export const environmentSettings: ReadonlyArray<{ env: string; path: readonly string[]; type: 'string' | 'number' | 'boolean' }> = [
  { env: 'SIDEBAND_DATA_DIR', path: ['dataDir'], type: 'string' },
  { env: 'SIDEBAND_DATABASE_URL', path: ['databaseUrl'], type: 'string' },
  { env: 'SIDEBAND_LOG_LEVEL', path: ['logLevel'], type: 'string' },
  { env: 'SIDEBAND_DEMO', path: ['demo'], type: 'boolean' },
  { env: 'SIDEBAND_LISTEN_HOST', path: ['listen', 'host'], type: 'string' },
  { env: 'SIDEBAND_RADIUS_AUTH_PORT', path: ['listen', 'radiusAuth'], type: 'number' },
  { env: 'SIDEBAND_RADIUS_ACCT_PORT', path: ['listen', 'radiusAcct'], type: 'number' },
  { env: 'SIDEBAND_OPERATOR_PORT', path: ['listen', 'operatorHttp'], type: 'number' },
  { env: 'SIDEBAND_MERCHANT_PORT', path: ['listen', 'merchantHttp'], type: 'number' },
  { env: 'SIDEBAND_PORTAL_PORT', path: ['listen', 'portalHttp'], type: 'number' },
  { env: 'SIDEBAND_DEMO_STORE_PORT', path: ['listen', 'demoStoreHttp'], type: 'number' },
  { env: 'SIDEBAND_MERCHANT_PUBLIC_ORIGIN', path: ['merchantApi', 'publicOrigin'], type: 'string' },
  { env: 'SIDEBAND_NETFLOW_PORT', path: ['listen', 'netflow'], type: 'number' },
  { env: 'SIDEBAND_IPFIX_PORT', path: ['listen', 'ipfix'], type: 'number' },
  { env: 'SIDEBAND_VAULT_KEY_FILE', path: ['vault', 'keyFile'], type: 'string' },
  { env: 'SIDEBAND_RADIUS_HOLD_DOWN_SECONDS', path: ['radius', 'holdDownSeconds'], type: 'number' },
  { env: 'SIDEBAND_RADIUS_INTERIM_INTERVAL_SECONDS', path: ['radius', 'interimIntervalSeconds'], type: 'number' },
  { env: 'SIDEBAND_RADIUS_STALE_SESSION_SECONDS', path: ['radius', 'staleSessionSeconds'], type: 'number' },
  { env: 'SIDEBAND_RADIUS_ADDRESS_CONFLICT', path: ['radius', 'addressConflict'], type: 'string' },
  { env: 'SIDEBAND_RADSEC_PORT', path: ['listen', 'radsec'], type: 'number' },
  { env: 'SIDEBAND_RADSEC_CERTIFICATE_FILE', path: ['radsec', 'certificateFile'], type: 'string' },
  { env: 'SIDEBAND_RADSEC_KEY_FILE', path: ['radsec', 'keyFile'], type: 'string' },
  { env: 'SIDEBAND_RADSEC_CA_FILE', path: ['radsec', 'caFile'], type: 'string' },
  { env: 'SIDEBAND_CHANNEL_ENABLED', path: ['channel', 'enabled'], type: 'boolean' },
  { env: 'SIDEBAND_CHANNEL_LINE_NUMBER', path: ['channel', 'lineNumber'], type: 'string' },
  { env: 'SIDEBAND_CHANNEL_MEDIA_ADDRESS', path: ['channel', 'mediaAddress'], type: 'string' },
  { env: 'SIDEBAND_EXCHANGE_HOST', path: ['channel', 'exchange', 'host'], type: 'string' },
  { env: 'SIDEBAND_EXCHANGE_PORT', path: ['channel', 'exchange', 'port'], type: 'number' },
  { env: 'SIDEBAND_EXCHANGE_BUILT_IN', path: ['channel', 'exchange', 'builtIn'], type: 'boolean' },
  { env: 'SIDEBAND_TRACKING_DESTINATIONS_PER_SESSION', path: ['tracking', 'destinationsPerSession'], type: 'number' },
  { env: 'SIDEBAND_TRACKING_DESTINATION_MAX_AGE_MINUTES', path: ['tracking', 'destinationMaxAgeMinutes'], type: 'number' },
  { env: 'SIDEBAND_TRACKING_CLOCK_SKEW_SECONDS', path: ['tracking', 'clockSkewSeconds'], type: 'number' },
];
