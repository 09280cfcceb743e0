import type { Counter } from 'prom-client';
import type { Metrics } from '../../observability/metrics.ts';

export type SipRole = 'exchange' | 'user-agent';

/**
 * The SIP counters: calls by outcome and messages dropped by cause, labelled by role.
 * Several user agents and an exchange may share one gateway's registry, so the counters
 * are created once per registry and shared.
 */
export class SipMetrics {
  private readonly calls: Counter<'role' | 'outcome'> | null;
  private readonly drops: Counter<'role' | 'cause'> | null;

  constructor(metrics: Metrics | undefined, private readonly role: SipRole) {
    this.calls = metrics ? shared(metrics, 'sideband_sip_calls_total', 'SIP calls ended, by role and outcome', ['role', 'outcome']) : null;
    this.drops = metrics ? shared(metrics, 'sideband_sip_dropped_total', 'SIP messages dropped without an answer, by role and cause', ['role', 'cause']) : null;
  }

  call(outcome: string): void {
    this.calls?.inc({ role: this.role, outcome });
  }

  dropped(cause: string): void {
    this.drops?.inc({ role: this.role, cause });
  }
}

function shared<L extends string>(metrics: Metrics, name: string, help: string, labels: readonly L[]): Counter<L> {
  return (metrics.registry.getSingleMetric(name) as Counter<L> | undefined) ?? metrics.counter(name, help, labels);
}
