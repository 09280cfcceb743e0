// Regenerates docs/errors.md from src/errors/registry.ts. Run after adding a code:
//   node --import tsx scripts/write-errors-doc.ts
import { writeFileSync } from 'node:fs';
import { errorRegistry } from '../src/errors/registry.ts';

const rows = Object.entries(errorRegistry).map(([code, d]) => `| \`${code}\` | ${d.status} | ${d.type} | ${d.cause}${'retired' in d ? ' (retired)' : ''} | ${d.fix} |`);
const text = `# Error codes

Every error Sideband raises has one of these codes. The HTTP APIs answer
\`{ "error": { "type", "code", "message", "param"? } }\` with the status below; the CLI prints
\`error CODE: message\` and a fix, and exits with a code by type (65 invalid request, 66 not
found, 67 conflict, 68 declined, 69 unavailable, 70 internal, 77 authentication or permission, 78
configuration, 64 usage). The table is generated from \`src/errors/registry.ts\` by
\`scripts/write-errors-doc.ts\`; a test keeps the two in step. Codes are never reused.

| code | status | type | cause | fix |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), text);
