import { SidebandError } from '../../errors/sideband-error.ts';

/**
 * Bounds on everything a decoder remembers between datagrams, so that no exporter (or
 * anyone spoofing one) can make it grow without limit. The per-exporter quotas keep one
 * source from taking much; the totals are shared by rank (ExporterRanking), so that a
 * flood from many sources takes room only from the newest of those admitted by range. The
 * defaults suit a few hundred access devices; memory stays below roughly maxTemplates ×
 * maxFieldsPerTemplate × 8 bytes plus maxHeldBytes.
 */
export interface DecoderLimits {
  readonly maxExporters: number;
  readonly maxDomainsPerExporter: number;
  readonly maxTemplatesPerDomain: number;
  /** An exporter past its quota loses its own oldest template, never another exporter's. */
  readonly maxTemplatesPerExporter: number;
  readonly maxTemplates: number;
  readonly maxFieldsPerTemplate: number;
  /** Longest fixed-length field accepted; variable-length fields (RFC 7011 §7) are bounded by their Set. */
  readonly maxFieldLength: number;
  /** RFC 7011 §8.4: a template not refreshed within its lifetime is discarded; also how long an idle domain is remembered. */
  readonly templateLifetime: number;
  /** How long a Data Set that arrived before its template waits for it, in ms. */
  readonly holdTime: number;
  readonly maxHeldSetsPerExporter: number;
  readonly maxHeldBytesPerExporter: number;
  readonly maxHeldBytes: number;
}

export const defaultDecoderLimits: DecoderLimits = Object.freeze({
  maxExporters: 1024,
  maxDomainsPerExporter: 64,
  maxTemplatesPerDomain: 256,
  maxTemplatesPerExporter: 512,
  maxTemplates: 16_384,
  maxFieldsPerTemplate: 128,
  maxFieldLength: 2048,
  templateLifetime: 30 * 60_000,
  holdTime: 5000,
  maxHeldSetsPerExporter: 256,
  maxHeldBytesPerExporter: 64 * 1024,
  maxHeldBytes: 4 * 1024 * 1024,
});

// The largest fixed-length field that could still fit in a 65535-octet IPFIX Message.
const FIELD_LENGTH_CEILING = 65535 - 16 - 4 - 1;

/** The defaults overridden by `overrides`, each checked; throws CONFIG_INVALID naming the setting. */
export function resolveDecoderLimits(overrides: Partial<DecoderLimits> = {}): DecoderLimits {
  const limits = { ...defaultDecoderLimits, ...overrides };
  for (const name of Object.keys(defaultDecoderLimits) as (keyof DecoderLimits)[]) {
    const value = limits[name];
    const ceiling = name === 'maxFieldLength' ? FIELD_LENGTH_CEILING : Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(value) || value < 1 || value > ceiling) {
      throw new SidebandError('CONFIG_INVALID', `${name} must be a whole number from 1 to ${ceiling}, not ${JSON.stringify(value)}.`, { param: name });
    }
  }
  for (const name of Object.keys(limits)) {
    if (!(name in defaultDecoderLimits)) throw new SidebandError('CONFIG_INVALID', `${name} is not a flow decoder limit.`, { param: name });
  }
  return Object.freeze(limits);
}
