import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `--help` or `-h` among the arguments: prints the bench's opening comment (what it
 * measures, how to run it, its options) and exits, before an option parser refuses the
 * flag with a stack trace or the bench starts installing and running its peers.
 */
export function answerHelp(moduleUrl: string): void {
  if (!process.argv.slice(2).some((a) => a === '--help' || a === '-h')) return;
  const head: string[] = [];
  for (const line of readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    head.push(line.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(`${head.join('\n')}\n`);
  process.exit(0);
}
