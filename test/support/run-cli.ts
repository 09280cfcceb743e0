import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process. Everything it printed is also appended to the suite's log
 * directory, so that test/never-in-clear scans command output as well as logs.
 */
export async function runCli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, (s) => void (stdout += s), (s) => void (stderr += s));
  const dir = process.env.SIDEBAND_TEST_LOG_DIR;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `cli-${process.pid}.log`), `$ sideband ${args.map((a) => (/^\d{12,19}$/.test(a) ? '[card argument]' : a)).join(' ')}\n${stdout}${stderr}`);
  }
  return { code, stdout, stderr };
}
