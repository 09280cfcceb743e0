import type { DecodeContext } from './decode-context.ts';
import { installTemplate } from './data-set.ts';
import type { ObservationDomain } from './observation-domain.ts';
import { compileTemplate, type FieldSpecifier } from './template.ts';

/** RFC 3954 §5.3 FlowSet IDs. */
export const TEMPLATE_FLOWSET_ID = 0;
export const OPTIONS_TEMPLATE_FLOWSET_ID = 1;

/**
 * A Template FlowSet (RFC 3954 §5.2) in `bytes[start, end)`. NetFlow v9 has neither
 * withdrawal nor variable-length fields, so a Field Count or Length of 0, or a Length of
 * 65535, makes the template invalid.
 */
export function decodeTemplateFlowSet(ctx: DecodeContext, bytes: Buffer, start: number, end: number, domain: ObservationDomain): void {
  let offset = start;
  while (end - offset >= 4) {
    const templateId = bytes.readUInt16BE(offset);
    const fieldCount = bytes.readUInt16BE(offset + 2);
    // RFC 3954 §5.2: the FlowSet may end in padding, which is zeros.
    if (templateId === 0 && fieldCount === 0) return;
    if (end - offset - 4 < fieldCount * 4) return ctx.drop('template-invalid');
    const fields = readFieldSpecifiers(bytes, offset + 4, fieldCount, ctx.state.limits.maxFieldsPerTemplate);
    offset += 4 + fieldCount * 4;
    const template = fields && compileTemplate(templateId, 'template', fields, 0, false, ctx.state.limits, ctx.receivedAt);
    if (template === undefined) ctx.drop('template-invalid');
    else installTemplate(ctx, domain, template);
  }
}

/**
 * An Options Template FlowSet (RFC 3954 §6.1): Option Scope Length and Option Length in
 * octets, four per field, then the scope fields, whose types (System, Interface, …) are
 * not Information Elements and are never read.
 */
export function decodeOptionsTemplateFlowSet(ctx: DecodeContext, bytes: Buffer, start: number, end: number, domain: ObservationDomain): void {
  let offset = start;
  while (end - offset >= 6) {
    const templateId = bytes.readUInt16BE(offset);
    const scopeLength = bytes.readUInt16BE(offset + 2);
    const optionLength = bytes.readUInt16BE(offset + 4);
    if (templateId === 0) return;
    const length = scopeLength + optionLength;
    if (scopeLength % 4 !== 0 || optionLength % 4 !== 0 || length === 0 || length > end - offset - 6) return ctx.drop('template-invalid');
    const fields = readFieldSpecifiers(bytes, offset + 6, length / 4, ctx.state.limits.maxFieldsPerTemplate);
    offset += 6 + length;
    const template = fields && compileTemplate(templateId, 'options', fields, scopeLength / 4, false, ctx.state.limits, ctx.receivedAt);
    if (template === undefined) ctx.drop('template-invalid');
    else installTemplate(ctx, domain, template);
  }
}

function readFieldSpecifiers(bytes: Buffer, at: number, count: number, max: number): FieldSpecifier[] | undefined {
  if (count > max) return undefined;
  const fields: FieldSpecifier[] = [];
  for (let i = 0; i < count; i++, at += 4) fields.push({ id: bytes.readUInt16BE(at), enterprise: false, length: bytes.readUInt16BE(at + 2) });
  return fields;
}
