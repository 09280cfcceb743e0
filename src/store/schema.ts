import type { Generated } from 'kysely';
import type { DeterministicNatTable, PortRangeReportTable } from './nat-schema.ts';

/**
 * Row types of every table, as Kysely sees them. Times are epoch milliseconds in a
 * BIGINT (SQLite INTEGER), money is integer minor units, booleans are 0/1 integers and
 * ids are text: the same values on SQLite and PostgreSQL without per-dialect mapping.
 */

export type SubscriberStatus = 'active' | 'suspended' | 'closed';
export type MerchantStatus = 'pending' | 'certified' | 'revoked';
export type SettlementPreference = 'card' | 'provider_bill' | 'merchant_bill';

export interface SubscriberTable {
  id: string;
  login: string;
  password_hash: string;
  /** Vault record holding the password for CHAP, which needs it in clear (RFC 1994). */
  chap_record_id: string | null;
  status: SubscriberStatus;
  currency: string;
  spending_limit: number;
  amount_used: number;
  period_start: number;
  auto_approve_limit: number | null;
  release_to_merchant: number;
  seconds_allotted: number | null;
  seconds_remaining: number | null;
  /** E.164 (`+34671999000`), CAMARA's phoneNumber identifier; null when none is registered. */
  phone_number: string | null;
  /** Spending rule: once amount_used reaches spending_limit, open sessions may last this many more seconds (0: disconnected); null: no rule. */
  spent_session_seconds: number | null;
  created_at: number;
  updated_at: number;
}

export type VaultRecordKind = 'card' | 'chap-password' | 'nas-secret' | 'fingerprint-key' | 'webhook-signing-key' | 'channel-identity' | 'line-password';

export interface VaultRecordTable {
  id: string;
  kind: VaultRecordKind;
  /** Master key id that wraps this record's data key. */
  key_id: string;
  wrapped_key: string;
  ciphertext: string;
  created_at: number;
  updated_at: number;
}

/** A master key the vault's records have been sealed under; at most one is active. */
export interface VaultMasterKeyTable {
  key_id: string;
  /** active: new records are sealed under it; previous: records may still be; retired: destroyed. */
  status: 'active' | 'previous' | 'retired';
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
}

export interface CardTable {
  id: string;
  subscriber_id: string;
  /** Null once the card is removed and its sealed record destroyed. */
  record_id: string | null;
  brand: string;
  bin: string;
  last4: string;
  pan_length: number;
  expiry_month: number;
  expiry_year: number;
  /** HMAC-SHA-256 of the number under the vault's fingerprint key (PCI DSS 3.5.1.1). */
  fingerprint: string;
  status: 'active' | 'removed';
  created_at: number;
  removed_at: number | null;
  /** What the card carries: open holds and captures not refunded; reserved against its credit limit. */
  credit_used: number;
}

export interface NasClientTable {
  id: string;
  name: string;
  address: string;
  secret_record_id: string;
  require_message_authenticator: number;
  pool_id: string | null;
  created_at: number;
  /** Set by `sideband nas remove`; the row stays because sessions refer to it. */
  removed_at: number | null;
  /** Where the NAS listens for Disconnect- and CoA-Requests (RFC 5176 §3.4; default 3799). */
  coa_port: Generated<number>;
  /** The IPv6 pools its subscribers draw a Framed-IPv6-Prefix and a Delegated-IPv6-Prefix from. */
  framed_ipv6_pool_id: Generated<string | null>;
  delegated_ipv6_pool_id: Generated<string | null>;
  /** SHA-256 of the certificate it presents over RadSec (RFC 6614), 64 lowercase hex digits. */
  tls_fingerprint: string | null;
  /** The name a certificate from the configured CA must carry for it (subjectAltName DNS, else CN). */
  tls_name: string | null;
  /** Where it takes Disconnect- and CoA-Requests, when not where its RADIUS packets come from. */
  coa_address: string | null;
}

export interface PoolTable {
  id: string;
  name: string;
  cidr: string;
  /** Carrier-grade NAT: each address is shared, ports_per_block source ports a subscriber. */
  ports_per_block: number | null;
  created_at: number;
  /** An IPv6 pool's unit: the length of the prefixes it carves from its range. */
  prefix_length: Generated<number | null>;
}

export interface SessionTable {
  id: string;
  subscriber_id: string | null;
  login: string;
  nas_id: string;
  nas_identifier: string | null;
  nas_ip_address: string | null;
  nas_port: number | null;
  nas_port_id: string | null;
  acct_session_id: string | null;
  /** Class attribute value from the Access-Accept, tying accounting to the authentication. */
  class: string | null;
  framed_address: string | null;
  pool_id: string | null;
  status: 'authorized' | 'active' | 'closed';
  authorized_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  last_seen_at: number;
  session_time: number;
  input_octets: number;
  output_octets: number;
  terminate_cause: string | null;
  charged_seconds: number;
  /** The Session-Timeout granted in the Access-Accept; a close without a Stop charges no more. */
  session_timeout: number | null;
  /** Who closed it; only a session closed by a Stop ignores a later Stop as a duplicate. */
  closed_by: SessionClosedBy | null;
  /** NAS-Port, NAS-Port-Id or Calling-Station-Id: the key a log-in retry is recognised by (sqlippool's pool key). */
  port_key: string | null;
  calling_station_id: string | null;
  /** Framed-Interface-Id (RFC 3162 §2.2), hex, as the NAS sent it. */
  framed_interface_id: string | null;
  /**
   * An adopted session's NAS, Acct-Session-Id and login (adopt-session.ts), unique: a second
   * gateway adopting the same NAS session at the same moment meets it. Null otherwise.
   */
  adoption_key: string | null;
}

export type SessionClosedBy = 'stop' | 'sweeper' | 'nas-restart' | 'address-conflict';

/** Accounting that did not fit the session's history: late, duplicate, reordered or conflicting. */
export interface AccountingAnomalyTable {
  id: string;
  kind: string;
  nas_id: string;
  session_id: string | null;
  /** The other session of an address conflict. */
  other_session_id: string | null;
  acct_session_id: string | null;
  /** When the NAS says it happened (Event-Timestamp, else arrival minus Acct-Delay-Time). */
  event_at: number | null;
  received_at: number;
  /** JSON: what was claimed and what was done about it. */
  detail: string | null;
}

export interface BindingTable {
  id: string;
  session_id: string;
  address: string;
  port_first: number | null;
  port_last: number | null;
  start_at: number;
  end_at: number | null;
  /** Non-null while open; a unique index on it means no address is held twice. */
  open_key: string | null;
}

export type PrefixBindingKind = 'framed-ipv6-prefix' | 'delegated-ipv6-prefix' | 'framed-ipv6-address';

/** A session's hold of an IPv6 prefix (or, for Framed-IPv6-Address, a /128). */
export interface PrefixBindingTable {
  id: string;
  session_id: string;
  kind: PrefixBindingKind;
  network: string;
  prefix_length: number;
  start_at: number;
  end_at: number | null;
  /** Non-null while open; unique, so no prefix is held twice at once. */
  open_key: string | null;
}

export interface MerchantTable {
  id: string;
  name: string;
  status: MerchantStatus;
  webhook_url: string | null;
  settlement_preference: SettlementPreference;
  /** Per-merchant secret for pseudonymous customer ids; never leaves the gateway. */
  pseudonym_salt: string;
  created_at: number;
  updated_at: number;
  certified_at: number | null;
  revoked_at: number | null;
  /** The merchant's channel endpoint (SDK) on the data network, its line number and certificate fingerprint. */
  channel_url: string | null;
  channel_line: string | null;
  channel_fingerprint: string | null;
}

export interface MerchantKeyTable {
  id: string;
  merchant_id: string;
  use: 'sig' | 'enc';
  algorithm: string;
  public_key: string;
  status: 'active' | 'revoked';
  created_at: number;
  revoked_at: number | null;
}

export interface MerchantNetworkTable {
  id: string;
  merchant_id: string;
  cidr: string;
  created_at: number;
}

export interface AuthorizationTable {
  id: string;
  merchant_id: string;
  subscriber_id: string;
  session_id: string;
  card_id: string | null;
  customer_address: string;
  customer_port: number | null;
  observed_at: number;
  amount: number;
  currency: string;
  captured_amount: number;
  refunded_amount: number;
  status: string;
  reason: string | null;
  capture_mode: 'automatic' | 'manual';
  settlement: SettlementPreference;
  description: string | null;
  merchant_reference: string | null;
  customer_pseudonym: string;
  acquirer_reference: string | null;
  /** merchant_bill: the compact JWE released to the merchant. */
  billing_details: string | null;
  /** The merchant's Idempotency-Key that created it; unique per merchant. */
  idempotency_key: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export interface AuthorizationEventTable {
  id: string;
  authorization_id: string;
  type: string;
  amount: number | null;
  detail: string | null;
  at: number;
}

export interface LedgerEntryTable {
  id: string;
  transaction_id: string;
  account: string;
  /** Debits positive, credits negative: every transaction's entries sum to zero. */
  amount: number;
  currency: string;
  authorization_id: string | null;
  at: number;
}

export interface AuditLogTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string | null;
  /** JSON with masked or non-secret values only. */
  detail: string | null;
}

export interface OperatorTokenTable {
  id: string;
  name: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface ExporterTable {
  id: string;
  name: string;
  address: string;
  created_at: number;
}

export interface SessionDestinationTable {
  session_id: string;
  destination: string;
  first_seen: number;
  last_seen: number;
  flows: number;
}

export interface SignatureNonceTable {
  key_id: string;
  nonce: string;
  expires_at: number;
}

export interface IdempotencyKeyTable {
  merchant_id: string;
  key: string;
  request_hash: string;
  status: 'in_progress' | 'done';
  response_status: number | null;
  response_body: string | null;
  created_at: number;
  /** The request that holds the key while it runs; its lease ends at locked_until. */
  owner: string | null;
  locked_until: number;
  /** What the key guarded once that committed (an authorization id): a retry resumes it. */
  resource_id: string | null;
}

/** A step owed to the acquirer after a commit (the outbox): retried by its id until done. */
export interface AcquirerInstructionTable {
  id: string;
  authorization_id: string;
  operation: 'capture' | 'refund' | 'void';
  reference: string;
  amount: number | null;
  currency: string;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  done_at: number | null;
}

export interface WebhookDeliveryTable {
  id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  url: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  /** `sideband` (/v1 webhooks) or `cloudevents` (CAMARA notifications to a sink). */
  format: Generated<'sideband' | 'cloudevents'>;
  bearer_token: string | null;
  bearer_expires_at: number | null;
}

export interface ChannelExchangeTable {
  id: string;
  merchant_id: string;
  authorization_id: string | null;
  subscriber_id: string | null;
  initiator: 'provider' | 'merchant';
  first_sender: 'provider' | 'merchant';
  provider_role: 'caller' | 'callee';
  number: string | null;
  items_out: number;
  items_in: number;
  status: 'negotiating' | 'calling' | 'active' | 'completed' | 'failed';
  cause: string | null;
  fallback: 'internet' | 'abort' | null;
  created_at: number;
  active_at: number | null;
  ended_at: number | null;
}

export interface CallRecordTable {
  id: string;
  call_id: string;
  caller: string;
  callee: string;
  dialed: string;
  billed: string;
  reverse_charge: number;
  status: number | null;
  outcome: string;
  bytes: number | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
}

export interface ChannelPreferenceTable {
  subscriber_id: string;
  merchant_id: string;
  /** once: the next approved purchase at that merchant; on: every one until switched off. */
  mode: 'once' | 'on';
  updated_at: number;
}

/** PostgreSQL only (migration 0009): what gateways sharing the database follow. */
export interface SessionChangeTable {
  seq: Generated<number>;
  session_id: string;
  /** The gateway process that made the change, so it skips its own. */
  origin: string;
  /** The database's clock when the change was written. */
  at: number;
  /** The writing transaction's id (xid8, as text): followers read by visibility. */
  xid: Generated<string>;
}

export type DynamicAuthorizationKind = 'disconnect' | 'coa';
export type DynamicAuthorizationStatus = 'pending' | 'sending' | 'ack' | 'nak' | 'timeout' | 'failed';

/** A Disconnect-Request or CoA-Request (RFC 5176) to send, or sent, and what came of it. */
export interface DynamicAuthorizationTable {
  id: string;
  session_id: string;
  nas_id: string;
  kind: DynamicAuthorizationKind;
  /** `operator-disconnect`, `subscriber-suspended`, `prepaid-seconds`. */
  reason: string;
  /** The CoA-Request's new Session-Timeout; null for a Disconnect-Request. */
  session_timeout: number | null;
  /** The audit actor: `operator:NAME`, `cli`, `radius`. */
  requested_by: string;
  requested_at: number;
  status: DynamicAuthorizationStatus;
  /** The gateway process (job-lease holder name) sending it. */
  claimed_by: string | null;
  claimed_at: number | null;
  /** `address:port` it was sent to. */
  destination: string | null;
  attempts: number;
  /** The Error-Cause of a NAK, or of an ACK that carried one (RFC 5176 §3.5). */
  error_cause: number | null;
  /** Why it failed or was ignored, for people; JSON. */
  detail: string | null;
  completed_at: number | null;
}

export interface JobLeaseTable {
  /** The job: `session-sweep`, `authorization-expiry`… */
  name: string;
  /** The gateway process holding it. */
  holder: string;
  acquired_at: number;
  /** A holder that stops renewing loses it then; a survivor takes it. */
  expires_at: number;
}

export interface Database {
  subscribers: SubscriberTable;
  vault_records: VaultRecordTable;
  vault_master_keys: VaultMasterKeyTable;
  cards: CardTable;
  nas_clients: NasClientTable;
  pools: PoolTable;
  sessions: SessionTable;
  bindings: BindingTable;
  prefix_bindings: PrefixBindingTable;
  accounting_anomalies: AccountingAnomalyTable;
  merchants: MerchantTable;
  merchant_keys: MerchantKeyTable;
  merchant_networks: MerchantNetworkTable;
  authorizations: AuthorizationTable;
  authorization_events: AuthorizationEventTable;
  ledger_entries: LedgerEntryTable;
  audit_log: AuditLogTable;
  operator_tokens: OperatorTokenTable;
  exporters: ExporterTable;
  session_destinations: SessionDestinationTable;
  signature_nonces: SignatureNonceTable;
  idempotency_keys: IdempotencyKeyTable;
  acquirer_instructions: AcquirerInstructionTable;
  webhook_deliveries: WebhookDeliveryTable;
  channel_exchanges: ChannelExchangeTable;
  call_records: CallRecordTable;
  channel_preferences: ChannelPreferenceTable;
  session_changes: SessionChangeTable;
  job_leases: JobLeaseTable;
  dynamic_authorizations: DynamicAuthorizationTable;
  camara_payments: CamaraPaymentTable;
  oauth_access_tokens: OAuthAccessTokenTable;
  camara_consents: CamaraConsentTable;
  camara_refunds: CamaraRefundTable;
  web_sessions: WebSessionTable;
  port_range_reports: PortRangeReportTable;
  deterministic_nat: DeterministicNatTable;
}

/** What a CAMARA Carrier Billing payment adds to the authorization it is (docs/camara.md). */
export interface CamaraPaymentTable {
  authorization_id: string;
  merchant_id: string;
  flow: 'one-step' | 'two-step';
  client_correlator: string | null;
  reference_code: string;
  phone_number: string;
  sink: string | null;
  created_at: number;
  /** Why the merchant may see phone_number (docs/camara.md); null: made before consent was asked. */
  phone_basis: 'merchant' | 'consent' | null;
  sink_token: string | null;
  sink_token_expires_at: number | null;
}

/** A subscriber's consent that one merchant learns their phone number from a CAMARA payment. */
export interface CamaraConsentTable {
  subscriber_id: string;
  merchant_id: string;
  given_at: number;
}

/** A CAMARA refund (v0.3): what it adds to the refund event (`refund_id`) of its payment. */
export interface CamaraRefundTable {
  refund_id: string;
  authorization_id: string;
  merchant_id: string;
  type: 'total' | 'partial';
  status: 'processing' | 'succeeded' | 'denied';
  amount: number;
  client_correlator: string | null;
  reference_code: string;
  reason: string | null;
  description: string | null;
  sink: string | null;
  sink_token: string | null;
  sink_token_expires_at: number | null;
  created_at: number;
}

/** An OAuth 2.0 access token for the CAMARA routes, by the SHA-256 of its value. */
export interface OAuthAccessTokenTable {
  token_hash: string;
  merchant_id: string;
  key_id: string;
  scope: string;
  expires_at: number;
  created_at: number;
}

/** A signed-in browser of the portal or the console, by the SHA-256 of its session id (src/web/web-session-store.ts). */
export interface WebSessionTable {
  id_hash: string;
  site: 'portal' | 'console';
  /** The subscriber's id or the operator's name; null for a log-in form's session. */
  subject: string | null;
  csrf: string;
  /** The site's JSON, sealed under a key derived from the session id. */
  data: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
}
