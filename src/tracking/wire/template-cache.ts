import type { DecoderLimits } from './decoder-limits.ts';
import { ExporterRanking, type ExporterStanding, type Ranked } from './exporter-ranking.ts';
import type { ExportVersion } from './message-header.ts';
import { domainKey, type ObservationDomain } from './observation-domain.ts';
import { newSequenceState } from './sequence-number.ts';
import type { Template, TemplateKind } from './template.ts';

interface Exporter extends Ranked {
  readonly name: string;
  readonly domains: Map<number, ObservationDomain>;
  templateCount: number;
}

/**
 * Every exporter's domains and templates, bounded at each level. An exporter that sends
 * more templates than its quota (per domain or in all) loses its own least recently
 * refreshed one. When the exporters together hold `maxTemplates`, or `maxExporters` are
 * known, the lowest-ranked exporter gives way (ExporterRanking: the newest of those only
 * inside a registered range): a higher-ranked exporter's new template displaces that
 * one's oldest, a new named exporter displaces it whole, and anyone else's is refused. So
 * a flood never evicts the templates of an exporter known before it, nor of one
 * registered by name.
 */
export class TemplateCache {
  readonly #limits: DecoderLimits;
  readonly #exporters = new Map<string, Exporter>();
  readonly #ranking = new ExporterRanking<Exporter>();
  #domainCount = 0;
  #templateCount = 0;

  constructor(limits: DecoderLimits) {
    this.#limits = limits;
  }

  get exporterCount(): number {
    return this.#exporters.size;
  }

  get domainCount(): number {
    return this.#domainCount;
  }

  get templateCount(): number {
    return this.#templateCount;
  }

  /**
   * The exporter's domain, created when new unless that would pass a limit. A new exporter
   * registered by name finds room by displacing the lowest-ranked one, whose name goes to
   * `displaced.exporterDisplaced` so that what else is kept for it can go too.
   */
  domain(exporter: string, standing: ExporterStanding, version: ExportVersion, id: number, now: number, displaced?: { exporterDisplaced(exporter: string): void }): ObservationDomain | 'exporter-limit' | 'domain-limit' {
    let entry = this.#exporters.get(exporter);
    if (entry === undefined) {
      if (this.#exporters.size >= this.#limits.maxExporters) {
        const victim = this.#ranking.lowestBelow(standing, Number.POSITIVE_INFINITY, () => true);
        if (victim === undefined) return 'exporter-limit';
        this.#forget(victim);
        displaced?.exporterDisplaced(victim.name);
      }
      entry = { name: exporter, domains: new Map(), templateCount: 0, standing, arrival: this.#ranking.nextArrival(), removed: false };
      this.#exporters.set(exporter, entry);
      this.#ranking.add(entry);
    }
    entry.standing = standing;
    const key = domainKey(version, id);
    let domain = entry.domains.get(key);
    if (domain === undefined) {
      if (entry.domains.size >= this.#limits.maxDomainsPerExporter) return 'domain-limit';
      domain = { exporter, version, id, key, templates: new Map(), sequence: newSequenceState(), systemInitTime: -1, lastSeen: now };
      entry.domains.set(key, domain);
      this.#domainCount++;
    }
    domain.lastSeen = now;
    return domain;
  }

  /** The domain's template with this ID, unless there is none or its lifetime is over (RFC 7011 §8.4). */
  template(domain: ObservationDomain, id: number, now: number): Template | undefined {
    const template = domain.templates.get(id);
    if (template === undefined || now - template.refreshedAt <= this.#limits.templateLifetime) return template;
    this.#remove(domain, id);
    return undefined;
  }

  /**
   * Installs a template; one with the same ID is replaced, which is how UDP exporters
   * refresh and redefine templates (RFC 7011 §8.4). Returns the cause to count when the
   * template was refused, another of this exporter's was evicted for it, or a lower-ranked
   * exporter's was displaced for it.
   */
  add(domain: ObservationDomain, template: Template): 'template-limit' | 'template-evicted' | 'template-displaced' | undefined {
    const entry = this.#exporters.get(domain.exporter);
    if (entry === undefined) return 'template-limit';
    if (domain.templates.delete(template.id)) {
      domain.templates.set(template.id, template);
      return undefined;
    }
    let cause: 'template-evicted' | 'template-displaced' | undefined;
    if (domain.templates.size >= this.#limits.maxTemplatesPerDomain) {
      if (this.#evictOldest(entry, domain)) cause = 'template-evicted';
    } else if (entry.templateCount >= this.#limits.maxTemplatesPerExporter) {
      if (this.#evictOldest(entry, undefined)) cause = 'template-evicted';
    } else if (this.#templateCount >= this.#limits.maxTemplates) {
      const victim = this.#ranking.lowestBelow(entry.standing, entry.arrival, (e) => e.templateCount > 0);
      if (victim === undefined) return 'template-limit';
      this.#evictOldest(victim, undefined);
      cause = 'template-displaced';
    }
    domain.templates.set(template.id, template);
    entry.templateCount++;
    this.#templateCount++;
    return cause;
  }

  /** The lowest-ranked exporter below `exporter` for which `holds` is true (for HeldDataSets' room). */
  lowestBelow(exporter: string, holds: (exporter: string) => boolean): string | undefined {
    const entry = this.#exporters.get(exporter);
    if (entry === undefined) return undefined;
    return this.#ranking.lowestBelow(entry.standing, entry.arrival, (e) => holds(e.name))?.name;
  }

  /** RFC 7011 §8.1 Template Withdrawal of one template; one not held is ignored. */
  withdraw(domain: ObservationDomain, id: number): void {
    if (domain.templates.has(id)) this.#remove(domain, id);
  }

  /** RFC 7011 §8.1: withdraws every template of one kind (Template ID 2 or 3 with Field Count 0). */
  withdrawAll(domain: ObservationDomain, kind: TemplateKind): void {
    for (const [id, template] of domain.templates) {
      if (template.kind === kind) this.#remove(domain, id);
    }
  }

  /** Discards templates past their lifetime, then domains and exporters idle as long and holding none. */
  expire(now: number): number {
    const lifetime = this.#limits.templateLifetime;
    let expired = 0;
    for (const [name, entry] of this.#exporters) {
      for (const [key, domain] of entry.domains) {
        for (const [id, template] of domain.templates) {
          if (now - template.refreshedAt > lifetime) {
            this.#remove(domain, id);
            expired++;
          }
        }
        if (domain.templates.size === 0 && now - domain.lastSeen > lifetime) {
          entry.domains.delete(key);
          this.#domainCount--;
        }
      }
      if (entry.domains.size === 0) {
        this.#exporters.delete(name);
        this.#ranking.remove(entry);
      }
    }
    return expired;
  }

  /** Drops an exporter with all its domains and templates. */
  #forget(entry: Exporter): void {
    for (const domain of entry.domains.values()) this.#templateCount -= domain.templates.size;
    this.#domainCount -= entry.domains.size;
    this.#exporters.delete(entry.name);
    this.#ranking.remove(entry);
  }

  #evictOldest(entry: Exporter, within: ObservationDomain | undefined): boolean {
    let oldest: { domain: ObservationDomain; template: Template } | undefined;
    for (const domain of within ? [within] : entry.domains.values()) {
      // Refreshing re-inserts a template, so each domain's first entry is its oldest.
      const first = domain.templates.values().next();
      if (!first.done && (oldest === undefined || first.value.refreshedAt < oldest.template.refreshedAt)) oldest = { domain, template: first.value };
    }
    if (oldest === undefined) return false;
    this.#remove(oldest.domain, oldest.template.id);
    return true;
  }

  #remove(domain: ObservationDomain, id: number): void {
    domain.templates.delete(id);
    const entry = this.#exporters.get(domain.exporter);
    if (entry !== undefined) entry.templateCount--;
    this.#templateCount--;
  }
}
