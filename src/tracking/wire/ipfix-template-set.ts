import type { DecodeContext } from './decode-context.ts';
import { installTemplate } from './data-set.ts';
import type { ObservationDomain } from './observation-domain.ts';
import { compileTemplate, MIN_TEMPLATE_ID, type FieldSpecifier } from './template.ts';

/** RFC 7011 §3.3.2 Set IDs. */
export const TEMPLATE_SET_ID = 2;
export const OPTIONS_TEMPLATE_SET_ID = 3;

// RFC 7011 §3.2: the top bit of the Information Element identifier is the Enterprise bit.
const ENTERPRISE_BIT = 0x8000;

/**
 * A TemplateSet (RFC 7011 §3.4.1) or OptionsTemplateSet (§3.4.2.2) in `bytes[start, end)`,
 * including Template Withdrawals (§8.1). An invalid record is counted and skipped when its
 * length is known; one that runs past the Set ends it.
 */
export function decodeTemplateSet(ctx: DecodeContext, bytes: Buffer, start: number, end: number, setId: number, domain: ObservationDomain): void {
  const kind = setId === OPTIONS_TEMPLATE_SET_ID ? 'options' : 'template';
  const { cache, limits } = ctx.state;
  let offset = start;
  while (end - offset >= 4) {
    const templateId = bytes.readUInt16BE(offset);
    const fieldCount = bytes.readUInt16BE(offset + 2);
    if (fieldCount === 0) {
      offset += 4;
      // RFC 7011 §8.1: a record with Field Count 0 withdraws its template; Template ID 2
      // (in a Template Set) or 3 (in an Options Template Set) withdraws all of that kind.
      if (templateId === setId) cache.withdrawAll(domain, kind);
      else if (templateId >= MIN_TEMPLATE_ID) cache.withdraw(domain, templateId);
      else if (templateId === 0) return; // zero padding, longer than §3.3.1 allows
      else ctx.drop('template-invalid');
      continue;
    }
    let at = offset + 4;
    let scopeFieldCount = 0;
    if (kind === 'options') {
      if (end - at < 2) return ctx.drop('template-invalid');
      scopeFieldCount = bytes.readUInt16BE(at);
      at += 2;
    }
    const keep = fieldCount <= limits.maxFieldsPerTemplate;
    const fields: FieldSpecifier[] = [];
    for (let i = 0; i < fieldCount; i++) {
      if (end - at < 4) return ctx.drop('template-invalid');
      const id = bytes.readUInt16BE(at);
      const length = bytes.readUInt16BE(at + 2);
      at += 4;
      const enterprise = (id & ENTERPRISE_BIT) !== 0;
      if (enterprise) {
        // RFC 7011 §3.2: an Enterprise Number follows; such fields are skipped, never read.
        if (end - at < 4) return ctx.drop('template-invalid');
        at += 4;
      }
      if (keep) fields.push({ id: id & ~ENTERPRISE_BIT, enterprise, length });
    }
    offset = at;
    // RFC 7011 §3.4.2.2: "The Scope Field Count MUST NOT be zero."
    const scoped = kind === 'template' || scopeFieldCount > 0;
    const template = keep && scoped ? compileTemplate(templateId, kind, fields, scopeFieldCount, true, limits, ctx.receivedAt) : undefined;
    if (template === undefined) ctx.drop('template-invalid');
    else installTemplate(ctx, domain, template);
  }
}
