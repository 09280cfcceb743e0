/**
 * Accounting that does not fit the session's history as recorded so far. Each is
 * acknowledged to the NAS (it would only retransmit), kept in `accounting_anomalies`,
 * counted in `sideband_radius_accounting_anomalies_total{kind}` and logged. Stable
 * strings: docs/radius.md lists them.
 */
export const accountingAnomalyKinds = [
  /** A Start for a session already closed: it is not reopened. */
  'late-start',
  /** A Start for a session already active: a retransmission, or a Start overtaken by an Interim-Update. */
  'duplicate-start',
  /** An Interim-Update for a session already closed: it is not reopened and keeps no address. */
  'late-interim',
  /** An Interim-Update for a session whose Start never came: the session starts at the time it reports. */
  'interim-without-start',
  /** A Stop for a session whose Start never came: it is recorded from its reported start to its end. */
  'stop-without-start',
  /** A Stop for a session a Stop already closed: nothing is charged again. */
  'duplicate-stop',
  /** A Stop for a session closed without one (sweeper, Accounting-On, conflict): it corrects the record, never extends it. */
  'late-stop',
  /** An open session's NAS reports another Framed-IP-Address than the one bound: the binding follows while the session stays open. */
  'address-changed',
  /** An Accounting-Request claims an address another session holds (radius.addressConflict decides). */
  'address-conflict',
] as const;

export type AccountingAnomalyKind = (typeof accountingAnomalyKinds)[number];
