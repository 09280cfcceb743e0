import type { SipCounter, SipMetricsSink } from './sip-observability.ts';

export type SipRole = 'exchange' | 'user-agent';

// Several user agents and an exchange may share one gateway's metrics: each counter is
// created once per sink and shared.
const counters = new WeakMap<SipMetricsSink, Map<string, SipCounter<string>>>();

function shared<L extends string>(metrics: SipMetricsSink, name: string, help: string, labels: readonly L[]): SipCounter<L> {
  let byName = counters.get(metrics);
  if (!byName) counters.set(metrics, (byName = new Map()));
  let c = byName.get(name);
  if (!c) byName.set(name, (c = metrics.counter(name, help, labels)));
  return c as SipCounter<L>;
}

/** The SIP counters: calls by outcome, messages dropped by cause, and what per-source limits refused, labelled by role. */
export class SipMetrics {
  private readonly calls: SipCounter<'role' | 'outcome'> | null;
  private readonly drops: SipCounter<'role' | 'cause'> | null;
  private readonly limits: SipCounter<'role' | 'transport' | 'cause'> | null;

  constructor(metrics: SipMetricsSink | undefined, private readonly role: SipRole) {
    this.calls = metrics ? shared(metrics, 'sideband_sip_calls_total', 'SIP calls ended, by role and outcome', ['role', 'outcome']) : null;
    this.drops = metrics ? shared(metrics, 'sideband_sip_dropped_total', 'SIP messages dropped without an answer, by role and cause', ['role', 'cause']) : null;
    this.limits = metrics ? shared(metrics, 'sideband_sip_limited_total', 'SIP connections refused or closed, and messages dropped unread, by per-source limits (SourceLimitCause)', ['role', 'transport', 'cause']) : null;
  }

  call(outcome: string): void {
    this.calls?.inc({ role: this.role, outcome });
  }

  dropped(cause: string): void {
    this.drops?.inc({ role: this.role, cause });
  }

  limited(transport: string, cause: string): void {
    this.limits?.inc({ role: this.role, transport, cause });
  }
}
