/**
 * What the SIP stack needs of a logger and of metrics. The SDK takes no logging or metrics
 * dependency: a pino logger and the gateway's Metrics satisfy these as they are.
 */
export interface SipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SipCounter<L extends string> {
  inc(labels: Partial<Record<L, string>>, value?: number): void;
}

export interface SipMetricsSink {
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): SipCounter<L>;
}

/** A logger that drops everything, for merchants who pass none. */
export const silentLogger: SipLogger = { debug() {}, info() {}, warn() {}, error() {} };
