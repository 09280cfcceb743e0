import type { Counter } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ReadPortRanges } from '../protocol/ip-port-range.ts';
import type { NasClient } from './nas-directory.ts';
import type { SessionService } from './session-service.ts';

/**
 * The port ranges a NAT reports in accounting (RFC 8045 §3.2 in Accounting-Request),
 * applied to the session the request is about once the request itself is applied. Each
 * is counted by outcome in `sideband_radius_port_range_reports_total{outcome}` — `applied`,
 * `unchanged`, or why it was refused — and a refusal is logged at warn. The request is
 * acknowledged either way: the NAT would only send it again.
 */
export class PortRangeReports {
  private readonly reports: Counter<'outcome'>;

  constructor(
    private readonly sessions: SessionService,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.reports = metrics.counter('sideband_radius_port_range_reports_total', 'IP-Port-Range attributes (RFC 8045) reported in accounting, by what became of them', ['outcome']);
  }

  async apply(sessionId: string, nas: NasClient, read: ReadPortRanges, at: number, receivedAt = Date.now()): Promise<void> {
    for (const fault of read.faults) {
      this.reports.inc({ outcome: fault });
      this.logger.warn({ nas: nas.name, session: sessionId, cause: fault }, 'IP-Port-Range in accounting could not be read; ignored');
    }
    for (const range of read.ranges) {
      const result = await this.sessions.reportPortRange({ sessionId, nasId: nas.id, range, at, receivedAt });
      this.reports.inc({ outcome: result.outcome === 'refused' ? result.cause : result.outcome });
      const detail = { nas: nas.name, session: sessionId, alloc: range.alloc, address: range.externalAddress, ports: `${range.first}-${range.last}`, at: new Date(at).toISOString() };
      if (result.outcome === 'refused') this.logger.warn({ ...detail, cause: result.cause }, 'NAT-reported port range refused; the binding stays as it was');
      else this.logger.info({ ...detail, outcome: result.outcome }, 'NAT-reported port range');
    }
  }
}
