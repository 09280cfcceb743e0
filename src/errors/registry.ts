/**
 * Every error Sideband raises, by stable code. The HTTP API's reason codes, the RADIUS
 * Reply-Messages and the CLI's exit messages all come from here, and docs/errors.md lists
 * the same codes (test/errors/registry-matches-docs.test.ts keeps the two in step).
 *
 * Retired codes stay in the table with `retired: true` so that they are never reused.
 */
export interface ErrorDefinition {
  /** HTTP status when the error reaches an API client. */
  readonly status: number;
  /** The `error.type` of the API's error shape. */
  readonly type: ErrorType;
  /** What went wrong, for people. */
  readonly cause: string;
  /** What to do about it. */
  readonly fix: string;
  readonly retired?: true;
}

export type ErrorType =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'conflict'
  | 'declined'
  | 'configuration'
  | 'unavailable'
  | 'internal';

const define = <T extends Record<string, ErrorDefinition>>(table: T): T => table;

export const errorRegistry = define({
  // ── configuration ─────────────────────────────────────────────
  CONFIG_INVALID: { status: 500, type: 'configuration', cause: 'A configuration setting has a value outside what it accepts.', fix: 'Correct the named setting in the config file or the SIDEBAND_* environment variable.' },
  CONFIG_RENAMED: { status: 500, type: 'configuration', cause: 'A configuration setting was renamed or removed.', fix: 'Use the replacement the message names.' },
  CONFIG_FILE_UNREADABLE: { status: 500, type: 'configuration', cause: 'The configuration file cannot be read or is not valid JSON.', fix: 'Check the path given with --config or SIDEBAND_CONFIG and its JSON syntax.' },
  CONFIG_SECRET_WEAK: { status: 500, type: 'configuration', cause: 'A configured credential is a known default or a weak value (shorter than 16 characters, or the same as its username) while the gateway listens beyond loopback.', fix: 'Leave the setting out to have a random one generated and kept with the data (the provider line password), or set a random value such as the output of `openssl rand -base64 24`.' },
  LISTEN_ADDRESS_IN_USE: { status: 503, type: 'unavailable', cause: 'A port the gateway or the exchange listens on is already taken by another process.', fix: 'Stop the other process, or set the setting (or environment variable) the message names to a free port; 0 picks one.' },
  LISTEN_ADDRESS_UNAVAILABLE: { status: 503, type: 'unavailable', cause: 'The gateway may not listen on an address: the address is not on this host, or the port needs privileges.', fix: 'Set the host setting the message names to an address of this host, or the port setting to one above 1023.' },
  DATA_DIR_LOCKED: { status: 409, type: 'conflict', cause: 'Another gateway process holds the lock of the data directory (gateway.lock); two gateways on one directory would overwrite each other.', fix: 'Stop the process the message names, or give this gateway its own --data-dir. A lock left by a process that has died is taken over without help.' },
  INPUT_FILE_NOT_FOUND: { status: 404, type: 'not_found', cause: 'A file given as @FILE does not exist.', fix: 'Check the path after the @; a relative path is read from the current directory.' },
  INPUT_FILE_UNREADABLE: { status: 400, type: 'invalid_request', cause: 'A file given as @FILE cannot be read: it is a directory, or this user may not read it.', fix: 'Give a readable regular file after the @.' },
  KEY_FILE_EXISTS: { status: 409, type: 'conflict', cause: '`sideband merchant keygen` would write a key file that already exists; it overwrites nothing, so a key in use cannot be lost.', fix: 'Give another --out prefix, or move the existing files away if they are no longer needed.' },

  // ── store ─────────────────────────────────────────────────────
  STORE_UNREACHABLE: { status: 503, type: 'unavailable', cause: 'The database cannot be reached or opened.', fix: 'Check --database-url / SIDEBAND_DATABASE_URL, that PostgreSQL is running, or that the data directory is writable.' },
  STORE_CONTENDED: { status: 503, type: 'unavailable', cause: 'A row this request needed stayed locked by another transaction (another gateway on the same PostgreSQL database) for longer than lock_timeout, 5 s; nothing of the request was written.', fix: 'Retry after the Retry-After seconds (with the same Idempotency-Key, as the SDK does). If it persists, look for a gateway that is stuck: `pg_stat_activity` shows its session idle in transaction.' },
  STORE_MIGRATION_FAILED: { status: 500, type: 'internal', cause: 'A schema migration failed; the migration that failed was rolled back.', fix: 'Read the logged cause, correct the database, and run `sideband db migrate` again.' },
  STORE_SCHEMA_OUTDATED: { status: 503, type: 'unavailable', cause: 'The database schema is older than this version of Sideband expects.', fix: 'Run `sideband db migrate`.' },

  // ── vault ─────────────────────────────────────────────────────
  VAULT_KEY_MISSING: { status: 500, type: 'configuration', cause: 'No master key is available: the key file is absent and SIDEBAND_MASTER_KEY is unset.', fix: 'Restore the key file in the data directory, set SIDEBAND_MASTER_KEY, or run `sideband start` once on a fresh directory to create a development key.' },
  VAULT_KEY_MALFORMED: { status: 500, type: 'configuration', cause: 'The master key file or SIDEBAND_MASTER_KEY is not in the expected form.', fix: 'SIDEBAND_MASTER_KEY takes KEYID:BASE64 of 32 bytes; the key file is the JSON the vault wrote.' },
  VAULT_KEYRING_MISMATCH: { status: 500, type: 'configuration', cause: 'The keyring does not hold the master key the database seals its records under (its active key); nothing was written.', fix: 'Use the keyring this database was written with: set vault.keyFile (SIDEBAND_VAULT_KEY_FILE) to its path, or SIDEBAND_MASTER_KEY. The message names the key id it needs.' },
  VAULT_KEYRING_EXPOSED: { status: 500, type: 'configuration', cause: 'The keyring file may be read or written by its group or by others.', fix: 'Run the chmod 600 the message shows, and keep the file owned by the user the gateway runs as.' },
  VAULT_KEY_UNKNOWN: { status: 500, type: 'internal', cause: 'A record is wrapped under a master key id that the keyring does not hold.', fix: 'Restore the keyring that holds that key id; if it was retired on purpose, the record is unrecoverable.' },
  VAULT_KEY_RETIRED: { status: 500, type: 'internal', cause: 'A record is wrapped under a master key that has been retired.', fix: 'Rotation should have re-wrapped it: run `sideband keys rotate` with the retired key restored, then retire it again.' },
  VAULT_ROTATION_RUNNING: { status: 409, type: 'conflict', cause: 'Another process is rotating the master key on this database; two rotations at once would each make a key active and re-wrap under it.', fix: 'Wait for it to finish; if it died, run `sideband keys rotate --resume` once its claim lapses (a minute).' },
  VAULT_KEY_IN_USE: { status: 409, type: 'conflict', cause: 'The master key cannot be retired while records are still wrapped under it.', fix: 'Run `sideband keys rotate` first.' },
  VAULT_DECRYPT_FAILED: { status: 500, type: 'internal', cause: 'A record failed authentication on decryption: the wrong master key, or the record was altered.', fix: 'Check that the keyring is the one this database was written with; an altered record must be re-entered.' },
  VAULT_CARD_INVALID: { status: 400, type: 'invalid_request', cause: 'The card number fails the Luhn check, has the wrong length for its brand, or its brand is not recognised.', fix: 'Re-enter the card number.' },
  VAULT_EXPIRY_INVALID: { status: 400, type: 'invalid_request', cause: 'The card expiry is not MM/YY or is in the past.', fix: 'Give the expiry as MM/YY, a month not yet over.' },
  VAULT_CARD_DUPLICATE: { status: 409, type: 'conflict', cause: 'This card is already on file for this subscriber.', fix: 'Remove the existing card first, or use it as it is.' },

  // ── subscribers ───────────────────────────────────────────────
  SUBSCRIBER_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No subscriber has that login or id.', fix: 'Check the login with `sideband subscriber list`.' },
  SUBSCRIBER_PHONE_NUMBER_INVALID: { status: 400, type: 'invalid_request', cause: 'The phone number is not in E.164 form.', fix: 'Give + and 5 to 15 digits, the first not 0, such as +34671999000.' },
  SUBSCRIBER_PHONE_NUMBER_TAKEN: { status: 409, type: 'conflict', cause: 'Another subscriber has that phone number registered.', fix: 'Remove it from the other subscriber first (`sideband subscriber set-phone LOGIN --none`), or check the number.' },
  SUBSCRIBER_LOGIN_TAKEN: { status: 409, type: 'conflict', cause: 'A subscriber with that login already exists.', fix: 'Choose another login.' },
  SUBSCRIBER_LOGIN_INVALID: { status: 400, type: 'invalid_request', cause: 'The login is empty, longer than 253 characters, or contains control characters or spaces.', fix: 'Use printable characters without spaces, such as an e-mail-like name.' },
  SUBSCRIBER_PASSWORD_WEAK: { status: 400, type: 'invalid_request', cause: 'The password is shorter than 8 characters or longer than 128 (RADIUS PAP carries at most 128).', fix: 'Choose a password of 8 to 128 characters.' },
  SUBSCRIBER_STATUS_INVALID: { status: 409, type: 'conflict', cause: 'The subscriber is not in a status that allows this change (a closed subscriber stays closed).', fix: 'Check the subscriber\'s status with `sideband subscriber show`.' },
  CARD_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No card with that id is on file for this subscriber.', fix: 'List the subscriber\'s cards with `sideband subscriber show`.' },

  // ── merchants ─────────────────────────────────────────────────
  MERCHANT_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No merchant has that id.', fix: 'Check the id with `sideband merchant list`.' },
  MERCHANT_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'A merchant with that name already exists.', fix: 'Choose another name.' },
  MERCHANT_STATUS_INVALID: { status: 409, type: 'conflict', cause: 'The merchant is not in a status that allows this change (a revoked merchant cannot be certified again).', fix: 'Register the merchant anew.' },
  MERCHANT_KEY_INVALID: { status: 400, type: 'invalid_request', cause: 'The public key is not an Ed25519 (signing) or P-256/X25519/RSA (encryption) key in PEM or JWK form.', fix: 'Give the public key as a PEM file or a JWK.' },
  MERCHANT_KEY_ID_TAKEN: { status: 409, type: 'conflict', cause: 'That key id is already registered.', fix: 'Choose another key id.' },
  MERCHANT_WEBHOOK_INVALID: { status: 400, type: 'invalid_request', cause: 'The webhook URL is not an absolute http(s) URL.', fix: 'Give a URL such as https://shop.example/hooks/sideband.' },
  MERCHANT_KEY_PRIVATE: { status: 400, type: 'invalid_request', cause: 'The key given is a private key; the provider registers public keys only.', fix: 'Give the public half, e.g. `openssl pkey -in KEY.pem -pubout`. The private key was not stored; if it left the merchant, the merchant makes a new pair.' },
  MERCHANT_NETWORK_NOT_FOUND: { status: 404, type: 'not_found', cause: 'The merchant has no network with that range.', fix: 'List its networks with `sideband merchant show MERCHANT_ID`.' },

  // ── network (NAS clients, pools, addresses) ───────────────────
  NAS_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No NAS client has that name.', fix: 'Check the name with `sideband nas list`.' },
  NAS_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'A NAS client with that name already exists.', fix: 'Choose another name.' },
  NAS_SECRET_WEAK: { status: 400, type: 'invalid_request', cause: 'The shared secret is shorter than 16 characters (RFC 2865 §3 advises at least 16 octets).', fix: 'Use a random secret of at least 16 characters.' },
  POOL_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No address pool has that name.', fix: 'Check the name with `sideband pool list`.' },
  POOL_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'An address pool with that name already exists.', fix: 'Choose another name.' },
  POOL_OVERLAP: { status: 409, type: 'conflict', cause: 'The pool\'s range overlaps a range already in another pool.', fix: 'Choose a range that no other pool covers.' },
  POOL_IN_USE: { status: 409, type: 'conflict', cause: 'The pool cannot be removed while a NAS client draws from it or a session holds an address from it.', fix: 'Remove the NAS clients the message names with `sideband nas remove`, and wait until their sessions have ended.' },
  POOL_TOO_LARGE: { status: 400, type: 'invalid_request', cause: 'The pool range is larger than a /8 (IPv4), or an IPv6 range holds more than 2^20 prefixes of the pool\'s prefix length.', fix: 'Split the range into several pools, or carve longer prefixes.' },
  ADDRESS_INVALID: { status: 400, type: 'invalid_request', cause: 'The value is not an IPv4 or IPv6 address.', fix: 'Give an address such as 192.0.2.10 or 2001:db8::10.' },
  CIDR_INVALID: { status: 400, type: 'invalid_request', cause: 'The value is not an address range in CIDR notation, or has host bits set.', fix: 'Give a range such as 198.51.100.0/24.' },
  POOL_PREFIX_LENGTH_INVALID: { status: 400, type: 'invalid_request', cause: 'An IPv6 pool carves prefixes of one length, given with --prefix-length, no shorter than its range and at most 128; an IPv4 pool takes none, and an IPv6 pool no ports per block.', fix: 'Give e.g. `--cidr 2001:db8:100::/40 --prefix-length 56` (Delegated-IPv6-Prefix) or `--prefix-length 64` (Framed-IPv6-Prefix).' },
  NAS_POOL_FAMILY_MISMATCH: { status: 400, type: 'invalid_request', cause: 'A NAS draws Framed-IP-Address from an IPv4 pool and its IPv6 prefixes from IPv6 pools; the pool named is of the other kind.', fix: 'Name an IPv4 pool with --pool and IPv6 prefix pools with --framed-ipv6-pool and --delegated-ipv6-pool (`sideband pool list`).' },
  NAS_COA_ADDRESS_INVALID: { status: 400, type: 'invalid_request', cause: 'The dynamic-authorization address is not a unicast host address (it is unspecified, multicast or reserved).', fix: 'Give the address the NAS\'s dynamic-authorization server listens on, e.g. `--coa-address 198.51.100.7`.' },
  NAS_TLS_FINGERPRINT_INVALID: { status: 400, type: 'invalid_request', cause: 'The certificate fingerprint is not a SHA-256 digest (64 hex digits, colons allowed).', fix: 'Print it with `openssl x509 -in nas.pem -noout -fingerprint -sha256` and paste what follows the =.' },
  NAS_TLS_FINGERPRINT_TAKEN: { status: 409, type: 'conflict', cause: 'Another NAS client is registered with that certificate fingerprint; a RadSec connection could not be told whose it is.', fix: 'Give each NAS its own certificate, or move the fingerprint with `sideband nas update OTHER --tls-fingerprint none` first.' },
  NAS_TLS_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'Another NAS client is known over RadSec by that certificate name; a connection presenting it could not be told whose it is.', fix: 'Give each NAS a certificate with its own name, or move the name with `sideband nas update OTHER --tls-name none` first.' },
  DETERMINISTIC_NAT_INVALID: { status: 400, type: 'invalid_request', cause: 'The deterministic NAT mapping cannot be built: a range is not IPv4, the ports per subscriber do not fit from the first port, or the outside addresses and ports serve fewer subscribers than the inside range holds (RFC 7422 §2).', fix: 'Give IPv4 ranges, and a smaller inside range, a larger outside range or fewer ports per subscriber; the message says how many the outside range serves.' },
  DETERMINISTIC_NAT_OVERLAP: { status: 409, type: 'conflict', cause: 'The mapping\'s inside or outside range overlaps a mapping in force, or its outside range overlaps an address pool, so an outside address and port would have two answers.', fix: 'Remove the other mapping first (`sideband nat remove NAME`), or choose ranges no mapping or pool covers.' },
  DETERMINISTIC_NAT_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'A deterministic NAT mapping with that name exists, in force or removed (a removed one keeps its name for the history resolution answers from).', fix: 'Choose another name.' },
  DETERMINISTIC_NAT_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No deterministic NAT mapping in force has that name.', fix: 'Check the name with `sideband nat list`.' },

  // ── RADIUS (Reply-Message of Access-Reject) and resolution ────
  AAA_LOGIN_UNKNOWN: { status: 401, type: 'authentication', cause: 'No subscriber has that login.', fix: 'Check the login, or add the subscriber with `sideband subscriber add`.' },
  AAA_PASSWORD_WRONG: { status: 401, type: 'authentication', cause: 'The password (PAP) or CHAP response does not match.', fix: 'The subscriber retypes the password; the operator can reset it.' },
  AAA_SUBSCRIBER_SUSPENDED: { status: 403, type: 'permission', cause: 'The subscriber is suspended or closed.', fix: 'Resume the subscriber with `sideband subscriber resume`.' },
  AAA_QUOTA_EXHAUSTED: { status: 403, type: 'permission', cause: 'The subscriber\'s prepaid time is used up.', fix: 'Add seconds with `sideband subscriber set-limit LOGIN --seconds N`.' },
  AAA_POOL_EXHAUSTED: { status: 503, type: 'unavailable', cause: 'Every address of the NAS\'s pool is held or resting after release.', fix: 'Add a pool or enlarge it, or shorten radius.holdDownSeconds.' },
  AAA_THROTTLED: { status: 429, type: 'permission', cause: 'Too many failed log-ins for this login on this NAS in a short time, from one calling station (radius.maxFailures) or from all together (radius.maxFailuresPerLogin).', fix: 'Wait radius.failureWindowSeconds and try again.' },
  AAA_CREDENTIALS_REJECTED: { status: 401, type: 'authentication', cause: 'The login and password do not match a subscriber; the NAS is not told which of the two was wrong.', fix: 'The subscriber checks the login and retypes the password; the operator\'s log and metrics say AAA_LOGIN_UNKNOWN or AAA_PASSWORD_WRONG.' },
  RESOLVE_NOT_FOUND: { status: 404, type: 'not_found', cause: 'Nobody held that address (and port) at that time.', fix: 'Check the address, port and time (ISO 8601, with a zone).' },
  RESOLVE_PORT_REQUIRED: { status: 400, type: 'invalid_request', cause: 'The address is shared under carrier-grade NAT, so a source port is needed to tell subscribers apart (RFC 6302).', fix: 'Send the source port the connection came from.' },
  SESSION_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No session has that id.', fix: 'Find the session with GET /v1/resolve.' },
  SESSION_CLOSED: { status: 409, type: 'conflict', cause: 'The session is closed already; there is nothing to disconnect or change.', fix: 'Check the session with `sideband session show ID`; a subscriber\'s current sessions are found with GET /v1/resolve.' },
  AAA_SPENDING_EXHAUSTED: { status: 403, type: 'permission', cause: 'The subscriber\'s spending limit is used up and their spending rule ends sessions then (`--spent-session-seconds 0`).', fix: 'Raise the limit with `sideband subscriber set-limit LOGIN --limit N`, wait for the next period, or lift the rule with `--spent-session-seconds none`.' },
  RADSEC_CERTIFICATE_UNREGISTERED: { status: 401, type: 'authentication', cause: 'A RadSec (RFC 6614) client presented no certificate, or one whose SHA-256 fingerprint no NAS client is registered with and that is not a certificate of the configured CA naming a NAS client (`--tls-name`); the connection was closed.', fix: 'Register the NAS\'s certificate: `sideband nas update NAME --tls-fingerprint SHA256` with the fingerprint the log line gives, or `--tls-name` with the name of its CA-issued certificate.' },
  RADSEC_CERTIFICATE_EXPIRED: { status: 401, type: 'authentication', cause: 'A RadSec client\'s certificate is outside its validity period (expired, or not yet valid); the connection was closed.', fix: 'Issue the NAS a new certificate and register its fingerprint (`sideband nas update NAME --tls-fingerprint`), or check the clocks of the NAS and the gateway.' },
  RADSEC_ADDRESS_MISMATCH: { status: 401, type: 'authentication', cause: 'A RadSec client\'s certificate names a NAS client, but the connection comes from outside that NAS\'s registered address range; the connection was closed.', fix: 'Correct the NAS\'s registered range, or check who holds its certificate.' },

  // ── dynamic authorization (RFC 5176: Disconnect-Request, CoA-Request) ──
  DYNAMIC_AUTHORIZATION_NAK: { status: 502, type: 'declined', cause: 'The NAS answered Disconnect-NAK or CoA-NAK; its Error-Cause (RFC 5176 §3.5) says why, e.g. 503 Session-Context-Not-Found when it no longer has the session.', fix: 'Read the Error-Cause in `sideband session show ID`. For 503 the session is gone on the NAS (its Stop follows, or the sweeper closes it); for 401-407 check what the NAS expects to identify a session; for 501 allow dynamic authorization from the gateway on the NAS.' },
  DYNAMIC_AUTHORIZATION_NO_ANSWER: { status: 504, type: 'unavailable', cause: 'The NAS did not answer the Disconnect-Request or CoA-Request after every retry (radius.dynamicAuthorization.attempts), or every answer failed its authenticator check.', fix: 'Check the NAS\'s dynamic-authorization port (`sideband nas add --coa-port`, default 3799), that the NAS lists the gateway\'s address as a dynamic-authorization client with the same shared secret, and firewalls between them; then disconnect again.' },
  DYNAMIC_AUTHORIZATION_NO_DESTINATION: { status: 500, type: 'configuration', cause: 'The NAS is registered by an address range and the session names no NAS-IP-Address inside it, so there is no address to send the request to; or the NAS client has been removed.', fix: 'Register the NAS by its single address (`sideband nas add --address 198.51.100.7/32`), give the address its dynamic-authorization server listens on (`sideband nas update NAME --coa-address 198.51.100.7`), or have it send NAS-IP-Address in its Access-Requests.' },
  DYNAMIC_AUTHORIZATION_NOT_SENT: { status: 503, type: 'unavailable', cause: 'No running gateway sent the request while the command waited: requests queued from the command line are sent by a running gateway.', fix: 'Start a gateway on this database (`sideband start`); the request stays queued and is sent then. `sideband session show ID` shows its outcome.' },

  // ── destination tracking ─────────────────────────────────────
  EXPORTER_NAME_TAKEN: { status: 409, type: 'conflict', cause: 'A flow exporter with that name already exists.', fix: 'Choose another name.' },
  EXPORTER_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No flow exporter has that name.', fix: 'Check the name with `sideband exporter list`.' },
  DESTINATIONS_BATCH_TOO_LARGE: { status: 413, type: 'invalid_request', cause: 'A destination batch holds more observations than one request may carry.', fix: 'Send at most 10,000 observations per request.' },

  // ── merchant API: request authentication (RFC 9421, RFC 9530) ─
  SIGNATURE_MISSING: { status: 401, type: 'authentication', cause: 'The request carries no Signature and Signature-Input headers (RFC 9421).', fix: 'Sign every request with your registered Ed25519 key; the SDK does it for you.' },
  SIGNATURE_MALFORMED: { status: 401, type: 'authentication', cause: 'Signature or Signature-Input is not a valid RFC 8941 dictionary, or lacks a parameter Sideband requires (created, expires, nonce, keyid).', fix: 'Send both headers with the same label and the parameters created, expires, nonce and keyid.' },
  SIGNATURE_COMPONENT_MISSING: { status: 401, type: 'authentication', cause: 'The signature does not cover @method, @target-uri and content-digest, or the request carries an Idempotency-Key the signature does not cover.', fix: 'Cover ("@method" "@target-uri" "content-digest") at least, and "idempotency-key" whenever you send that header; the SDK does both.' },
  SIGNATURE_KEY_UNKNOWN: { status: 401, type: 'authentication', cause: 'No active registered key has that keyid.', fix: 'Use the key id the provider registered for you, or ask the provider to register your new key.' },
  SIGNATURE_INVALID: { status: 401, type: 'authentication', cause: 'The Ed25519 signature does not verify over the signature base.', fix: 'Sign exactly the components you declare, with the private key that matches the registered public key. Behind a TLS proxy, the operator sets merchantApi.publicOrigin (or trustedProxies) so that @target-uri is the URL merchants sign.' },
  SIGNATURE_EXPIRED: { status: 401, type: 'authentication', cause: 'The signature is past its expires (no clock skew is allowed for it), was created too long ago, or claims a created time more than 30 s in the future.', fix: 'Sign each request when you send it, with expires a few minutes ahead; check your clock.' },
  SIGNATURE_NONCE_REUSED: { status: 401, type: 'authentication', cause: 'The signature\'s nonce was already used: a replayed request.', fix: 'Use a fresh random nonce for every request.' },
  CONTENT_DIGEST_MISMATCH: { status: 400, type: 'invalid_request', cause: 'The Content-Digest header is missing, malformed, or does not match the body (RFC 9530).', fix: 'Send Content-Digest: sha-256=:BASE64(SHA-256(body)):, computed over the exact bytes sent.' },
  MERCHANT_NOT_CERTIFIED: { status: 403, type: 'permission', cause: 'The merchant is registered but not certified.', fix: 'Ask the provider to certify you.' },
  MERCHANT_REVOKED: { status: 403, type: 'permission', cause: 'The merchant\'s certification was revoked.', fix: 'Contact the provider.' },

  // ── merchant API: requests ───────────────────────────────────
  BODY_MALFORMED: { status: 400, type: 'invalid_request', cause: 'The body is not valid JSON, or not a JSON object.', fix: 'Send a JSON object with Content-Type: application/json.' },
  BODY_TOO_LARGE: { status: 413, type: 'invalid_request', cause: 'The body is larger than the 16 KiB a request may carry.', fix: 'Shorten the description and other text fields.' },
  FIELD_UNKNOWN: { status: 400, type: 'invalid_request', cause: 'The body has a field the API does not define.', fix: 'Remove the field named in param; check the spelling against the API reference.' },
  FIELD_INVALID: { status: 400, type: 'invalid_request', cause: 'A field is missing or has the wrong type or value.', fix: 'Read the message and param: they name the field and what it accepts.' },
  FIELD_HOLDS_CARD_NUMBER: { status: 400, type: 'invalid_request', cause: 'A text field (description, merchantReference, a refund reason) holds what looks like a card number: 13 to 19 digits, grouped by single spaces or dashes or not, that pass the Luhn check. Text fields are stored in clear.', fix: 'Never send a card number to Sideband. A reference that only looks like one must be written otherwise, e.g. with a letter or a "/" among the digits.' },
  IDEMPOTENCY_KEY_MISSING: { status: 400, type: 'invalid_request', cause: 'POST /v1/authorizations needs an Idempotency-Key header.', fix: 'Send a unique key (e.g. a UUID) per purchase, and the same key when you retry it.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, type: 'invalid_request', cause: 'The Idempotency-Key was already used with a different request body.', fix: 'Use a new key for a new request; retry only with the identical body.' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, type: 'conflict', cause: 'A request with this Idempotency-Key is still being processed.', fix: 'Wait and retry with the same key; the stored answer will be replayed.' },
  AUTHORIZATION_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No authorization, capture or refund of this merchant has that id.', fix: 'Check the id; objects of other merchants are not visible.' },
  AUTHORIZATION_STATE_INVALID: { status: 409, type: 'conflict', cause: 'The authorization is not in a state that allows this (e.g. capturing a declined, voided or expired one).', fix: 'GET the authorization to see its status.' },
  CAPTURE_EXCEEDS_AUTHORIZED: { status: 400, type: 'invalid_request', cause: 'The capture would take more than the authorized amount not yet captured.', fix: 'Capture at most amount − capturedAmount.' },
  REFUND_EXCEEDS_CAPTURED: { status: 400, type: 'invalid_request', cause: 'The refund would return more than was captured and not yet refunded.', fix: 'Refund at most capturedAmount − refundedAmount.' },
  ACQUIRER_UNAVAILABLE: { status: 503, type: 'unavailable', cause: 'The acquirer did not answer; the authorization is held and stays processing.', fix: 'Retry with the same Idempotency-Key (the SDK does): the retry resumes it and never charges twice. Unanswered for 10 minutes, it is declined with this reason.' },
  CUSTOMER_NOT_FOUND: { status: 404, type: 'not_found', cause: 'Nobody held the customer\'s address (and port) at the observed time.', fix: 'Send the address and source port the customer\'s request came from, and when it came.' },

  // ── CAMARA Carrier Billing: OAuth 2.0 and identification (docs/camara.md) ──
  OAUTH_REQUEST_INVALID: { status: 400, type: 'invalid_request', cause: 'The token request is not an OAuth 2.0 client-credentials request with a JWT client assertion (RFC 6749 §4.4, RFC 7523 §2.2), or asks for a scope Sideband does not grant.', fix: 'POST application/x-www-form-urlencoded grant_type=client_credentials, client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and client_assertion=JWT to /oauth2/token.' },
  OAUTH_CLIENT_ASSERTION_INVALID: { status: 401, type: 'authentication', cause: 'The client assertion does not verify: unknown or revoked key (kid), a signature by another key, iss and sub not the merchant id, aud not the token endpoint, expired, or valid for longer than 300 s.', fix: 'Sign a fresh JWT (EdDSA with the merchant key registered under kid) with iss = sub = merchant id, aud = the token endpoint URL, exp at most 300 s ahead and a unique jti.' },
  OAUTH_CLIENT_ASSERTION_REPLAYED: { status: 401, type: 'authentication', cause: 'The client assertion\'s jti was already used: a replayed assertion.', fix: 'Sign a new assertion with a fresh random jti for every token request.' },
  ACCESS_TOKEN_MISSING: { status: 401, type: 'authentication', cause: 'A CAMARA request carries no Authorization: Bearer access token.', fix: 'Get a token from POST /oauth2/token and send it as Authorization: Bearer TOKEN.' },
  ACCESS_TOKEN_INVALID: { status: 401, type: 'authentication', cause: 'The access token is unknown or expired, or its merchant or key was revoked since it was issued.', fix: 'Get a new token from POST /oauth2/token.' },
  ACCESS_TOKEN_SCOPE_MISSING: { status: 403, type: 'permission', cause: 'The access token was issued without the scope this operation needs.', fix: 'Ask for the scope the message names (or for no scope, which grants all) at POST /oauth2/token.' },
  CAMARA_IDENTIFIER_MISSING: { status: 422, type: 'invalid_request', cause: 'A CAMARA payment names no customer: neither amountTransaction.phoneNumber nor device.', fix: 'Send the phone number, or device.ipv4Address { publicAddress, publicPort } / device.ipv6Address of the customer\'s connection.' },
  CAMARA_IDENTIFIER_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No subscriber has that phone number registered, or the phone number and the device name different subscribers.', fix: 'Check the number; with a device as well, send the number of whoever holds that address.' },
  CAMARA_SERVICE_NOT_APPLICABLE: { status: 422, type: 'invalid_request', cause: 'The customer has no phone number registered, which a CAMARA payment must carry, or is not online (phoneNumber alone).', fix: 'Use the signed /v1 API for this customer, or ask the provider to register the phone number (`sideband subscriber set-phone`).' },
  CAMARA_SINK_UNSUPPORTED: { status: 400, type: 'invalid_request', cause: 'A CAMARA payment names a sink for notifications, which this gateway did not deliver yet (retired: sinks are served).', fix: 'Leave sink and sinkCredential out and poll GET /payments/{paymentId}, or use /v1 webhooks.', retired: true },
  CAMARA_AMOUNT_INVALID: { status: 400, type: 'invalid_request', cause: 'chargingInformation.amount is not a positive number with at most the currency\'s decimal places (2 for EUR), or is above 10^12 minor units.', fix: 'Send the amount in the currency\'s major unit, such as 19.99 for EUR.' },
  CAMARA_CONSENT_MISSING: { status: 403, type: 'permission', cause: 'A CAMARA payment names the customer by network address alone, and the subscriber has not consented that this merchant learn their phone number (which CAMARA\'s Payment carries).', fix: 'Send amountTransaction.phoneNumber if the customer gave it to you, or ask the customer to allow it in the portal\'s Settings; or use the signed /v1 API, which reveals no number.' },
  CAMARA_SINK_INVALID: { status: 400, type: 'invalid_request', cause: 'sink is not an absolute https URL (http only to loopback, and only where merchantApi.camaraSinkLoopbackHttp allows it), or carries credentials in the URL.', fix: 'Send an https URL of the merchant\'s notification endpoint, and its token as sinkCredential.' },
  CAMARA_SINK_CREDENTIAL_INVALID: { status: 400, type: 'invalid_request', cause: 'sinkCredential is not an ACCESSTOKEN credential with an accessTokenExpiresUtc still ahead (PLAIN and REFRESHTOKEN are not supported).', fix: 'Send { credentialType: ACCESSTOKEN, accessToken, accessTokenType: bearer, accessTokenExpiresUtc } with an expiry after the payment or refund ends.' },
  CAMARA_SINK_TOKEN_INVALID: { status: 400, type: 'invalid_request', cause: 'sinkCredential.accessTokenType is not bearer, or accessToken is not an RFC 6750 bearer token.', fix: 'Send a bearer token (letters, digits, -._~+/ and trailing =) with accessTokenType bearer.' },

  // ── authorization outcomes: the reason of a declined or pending authorization ──
  DESTINATION_NOT_VISITED: { status: 402, type: 'declined', cause: 'The subscriber\'s session did not contact any of the merchant\'s registered networks (the destination check).', fix: 'The merchant registers the networks it serves from; the purchase must come from a session that visited them.' },
  SUBSCRIBER_NOT_ACTIVE: { status: 402, type: 'declined', cause: 'The subscriber is suspended or closed.', fix: 'The subscriber contacts the provider.' },
  SPENDING_LIMIT_EXCEEDED: { status: 402, type: 'declined', cause: 'The purchase would take the subscriber past their spending limit for the period.', fix: 'A smaller amount, or the subscriber raises the limit with the provider.' },
  CREDIT_LIMIT_EXCEEDED: { status: 402, type: 'declined', cause: 'The purchase exceeds the credit limit of the card on file.', fix: 'A smaller amount, or another settlement.' },
  NO_CARD_ON_FILE: { status: 402, type: 'declined', cause: 'Card settlement was asked for, but the subscriber has no card on file.', fix: 'Use provider_bill settlement, or the subscriber adds a card.' },
  CARD_DECLINED: { status: 402, type: 'declined', cause: 'The acquirer declined the card.', fix: 'Another settlement, or the subscriber contacts the card issuer.' },
  MERCHANT_BILLING_NOT_ALLOWED: { status: 402, type: 'declined', cause: 'merchant_bill settlement needs the subscriber\'s consent to release billing details, or the merchant has no registered encryption key.', fix: 'Use card or provider_bill settlement; or register an encryption key.' },
  CURRENCY_MISMATCH: { status: 402, type: 'declined', cause: 'The purchase is in another currency than the one the subscriber\'s spending limit is kept in; Sideband converts nothing.', fix: 'Charge in the currency of the subscriber\'s account.' },
  CUSTOMER_NOT_PRESENT: { status: 402, type: 'declined', cause: 'The customer is not online now: customer.observedAt is older than merchantApi.observedMaxAgeSeconds, or the session that held the address ended more than merchantApi.presenceGraceSeconds ago.', fix: 'Ask for the purchase while the customer is there, with the address, port and time of their current request.' },
  SUBSCRIBER_DECLINED: { status: 402, type: 'declined', cause: 'The subscriber declined the purchase when asked to confirm it.', fix: 'None: the subscriber said no.' },
  CONFIRMATION_EXPIRED: { status: 402, type: 'declined', cause: 'The subscriber did not confirm the purchase in time.', fix: 'Try again; the subscriber confirms in the portal.' },
  CONFIRMATION_REQUIRED: { status: 402, type: 'declined', cause: 'The amount is above the subscriber\'s auto-approve threshold: the authorization is pending until the subscriber confirms it.', fix: 'Wait for the authorization.approved or authorization.declined webhook, or poll GET /v1/authorizations/{id}.' },

  // ── secure channel ───────────────────────────────────────────
  CHANNEL_UNAVAILABLE: { status: 503, type: 'unavailable', cause: 'The secure channel is not running on this gateway, or the other party does not support it.', fix: 'Enable channel in the configuration (or register the merchant\'s channel endpoint); meanwhile choose conventional settlement or abort.' },
  CHANNEL_NOT_CONFIGURED: { status: 409, type: 'conflict', cause: 'The merchant has registered no channel endpoint (URL, line number, certificate fingerprint).', fix: 'Run `sideband merchant set-channel MERCHANT_ID --url URL --line NUMBER --fingerprint "sha-256 …"`.' },
  CHANNEL_DIRECTION_RULE: { status: 400, type: 'invalid_request', cause: 'The plan breaks the direction rule: the party that sends first places the call, and the other party supplies the number.', fix: 'If you send first, do not send a number; if the provider sends first, supply a number from your pool.' },
  CHANNEL_NUMBER_CLAIMED: { status: 500, type: 'configuration', cause: 'Another gateway on the same database registers and reserves the same channel number at the same exchange; calls to it would ring at whichever registered last.', fix: 'Give each gateway its own channel.numbers in its configuration file, or wait a minute after a gateway died for its claim to lapse.' },
  CHANNEL_POOL_EXHAUSTED: { status: 503, type: 'unavailable', cause: 'Every number of the callee\'s pool is reserved.', fix: 'Retry shortly, or add numbers to the pool.' },
  CHANNEL_LINE_PASSWORD_UNKNOWN: { status: 500, type: 'configuration', cause: '`sideband exchange` runs alone without channel.exchange.password, and the data it was given holds no provider line password (no gateway has started on it, or it is not the gateways\' data). It never generates one: the gateways would not know it.', fix: 'Set channel.exchange.password in its configuration and the same in the gateways\', or give it the gateways\' --data-dir / --database-url and keyring after a gateway has started once.' },
  CHANNEL_EXCHANGE_NOT_FOUND: { status: 404, type: 'not_found', cause: 'No secure-channel exchange has that id.', fix: 'Check the id.' },
  CHANNEL_EXCHANGE_ID_TAKEN: { status: 409, type: 'conflict', cause: 'The exchangeId in the request names an exchange that exists already (created under another Idempotency-Key, or without one).', fix: 'Choose a new exchangeId for a new exchange; to repeat a request, send the Idempotency-Key that created it.' },
  CHANNEL_EXCHANGE_STATE_INVALID: { status: 409, type: 'conflict', cause: 'The exchange is not in a state that allows this (e.g. a fallback choice while the channel is still being set up).', fix: 'GET the exchange to see its status.' },
  CHANNEL_CARD_NOT_RELEASED: { status: 403, type: 'permission', cause: 'The merchant asked for the subscriber\'s card, and the subscriber has not agreed to release card details to merchants nor switched the secure channel on for this merchant, or the purchase is settled on the provider\'s bill.', fix: 'Settle the purchase another way (card through the provider, or the provider\'s bill), or ask the subscriber to allow merchant billing or switch the secure channel on for you.' },
  CHANNEL_CARD_ALREADY_SENT: { status: 409, type: 'conflict', cause: 'Another exchange carries the card of this authorization already (being set up, or it became active and may have sent it); one exchange per purchase carries it.', fix: 'GET the earlier exchange; only one that failed before it became active leaves the card to be asked for again.' },

  // ── SIP (the separate network): why a call or registration failed ──
  SIP_NUMBER_UNKNOWN: { status: 404, type: 'not_found', cause: 'The exchange has no line registered under the dialled number (404/484/604).', fix: 'Check the number; the callee must be registered.' },
  SIP_BUSY: { status: 409, type: 'conflict', cause: 'The callee is busy (486/600).', fix: 'Call again later.' },
  SIP_NO_ANSWER: { status: 504, type: 'unavailable', cause: 'Nobody answered before the ring timeout, or the callee could not be reached (408/480).', fix: 'Call again later, or lengthen the ring timeout.' },
  SIP_CANCELLED: { status: 409, type: 'conflict', cause: 'The call was cancelled before it was answered (487).', fix: 'None: the caller cancelled it.' },
  SIP_FORBIDDEN: { status: 403, type: 'permission', cause: 'The exchange refused: the caller number is not one of the line\'s numbers, or the line may not register that number (403).', fix: 'Call from, and register, numbers the line owns.' },
  SIP_UNAUTHENTICATED: { status: 500, type: 'configuration', cause: 'The exchange did not accept the line\'s username and password (401/407).', fix: 'Check channel.exchange.username and password against the exchange.' },
  SIP_UNREACHABLE: { status: 503, type: 'unavailable', cause: 'No response from the exchange, or the transport failed (timer B/F, or a connection error).', fix: 'Check the exchange\'s address and that it runs.' },
  SIP_SERVER_ERROR: { status: 502, type: 'unavailable', cause: 'The exchange or the callee failed (5xx).', fix: 'Read the exchange\'s log.' },
  SIP_REJECTED: { status: 402, type: 'declined', cause: 'The call was refused with another status (such as 488 or 603).', fix: 'Read the status and reason.' },
  SIP_NOT_REGISTERED: { status: 500, type: 'configuration', cause: 'The caller number is not registered by this user agent, so there is no exchange or credentials to call through.', fix: 'Register the number first.' },
  SIP_INVALID_ARGUMENT: { status: 400, type: 'invalid_request', cause: 'A number, status, header or host given to the user agent is not valid.', fix: 'Numbers are digits with an optional leading "+"; statuses 300–699; header values without CR/LF.' },
  SIP_CALL_GONE: { status: 409, type: 'conflict', cause: 'The call was already answered, rejected, cancelled or ended, or the user agent stopped.', fix: 'Place a new call if one is still needed.' },

  // ── money ─────────────────────────────────────────────────────
  AMOUNT_INVALID: { status: 400, type: 'invalid_request', cause: 'The amount is not a non-negative integer number of minor units within range.', fix: 'Give integer minor units, e.g. 1999 for 19.99.' },
  CURRENCY_UNKNOWN: { status: 400, type: 'invalid_request', cause: 'The currency is not an ISO 4217 code that Sideband knows.', fix: 'Use an ISO 4217 code such as EUR or USD.' },

  // ── operator API and CLI ──────────────────────────────────────
  OPERATOR_TOKEN_MISSING: { status: 401, type: 'authentication', cause: 'The operator API request carries no bearer token.', fix: 'Send Authorization: Bearer TOKEN; issue a token with `sideband token issue`.' },
  OPERATOR_TOKEN_INVALID: { status: 401, type: 'authentication', cause: 'The bearer token is unknown or revoked.', fix: 'Issue a new token with `sideband token issue`.' },
  WEB_FORM_FORGED: { status: 403, type: 'permission', cause: 'A form of the portal or the console was posted from another site, or without the CSRF token of the signed-in session.', fix: 'Use the form on the page itself; reload the page if it was open for long. Behind a TLS proxy, the operator lists the proxy in web.trustedProxies, so that the page\'s https origin is known.' },
  WEB_SESSION_EXPIRED: { status: 401, type: 'authentication', cause: 'The portal or console page was asked for without a signed-in session, or the session was idle too long.', fix: 'Sign in again.' },
  PORTAL_LOGIN_THROTTLED: { status: 429, type: 'permission', cause: 'Too many failed portal sign-ins for this login from this address in a short time.', fix: 'Wait radius.failureWindowSeconds and try again.' },
  REQUEST_INVALID: { status: 400, type: 'invalid_request', cause: 'The request body or query does not match the schema.', fix: 'Read the message: it names the field and what it accepts.' },
  NOT_FOUND: { status: 404, type: 'not_found', cause: 'No such route.', fix: 'Check the path against the API reference.' },
  USAGE: { status: 400, type: 'invalid_request', cause: 'The command line is not one the command accepts.', fix: 'Run the command with --help.' },
  INTERNAL: { status: 500, type: 'internal', cause: 'An unexpected fault; it was logged with a correlation id.', fix: 'Report the log line with that id.' },
});

export type ErrorCode = keyof typeof errorRegistry;
