import { spawn } from 'node:child_process';
import { haveCommand } from '../../scripts/debian-peers.js';

export const haveRadclient = haveCommand('radclient');

export interface RadclientReply {
  code: string | null;
  attributes: Record<string, string>;
}

export interface RadclientRun {
  exitCode: number | null;
  replies: RadclientReply[];
  output: string;
}

/**
 * Runs FreeRADIUS's radclient as a NAS would: `requests` are attribute lists, one packet
 * each (radclient reads them blank-line separated from stdin); `parallel` sends that many
 * at once. Replies come back in the order radclient prints them.
 */
export function radclient(server: string, kind: 'auth' | 'acct' | 'status', secret: string, requests: string[], options: { parallel?: number; retries?: number; timeout?: number } = {}): Promise<RadclientRun> {
  return new Promise((resolve, reject) => {
    const args = ['-x', '-r', String(options.retries ?? 1), '-t', String(options.timeout ?? 3), '-p', String(options.parallel ?? 1), server, kind, secret];
    const child = spawn('radclient', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const replies: RadclientReply[] = [];
      let current: RadclientReply | null = null;
      for (const line of output.split('\n')) {
        const received = /^Received (\S+) Id/.exec(line);
        if (received) {
          current = { code: received[1]!, attributes: {} };
          replies.push(current);
          continue;
        }
        if (/^Sent /.test(line) || /^\S/.test(line)) {
          current = null;
          continue;
        }
        const attr = /^\t(\S+) = (.*)$/.exec(line);
        if (attr && current) current.attributes[attr[1]!] = attr[2]!.replace(/^"|"$/g, '');
      }
      resolve({ exitCode, replies, output });
    });
    child.stdin.end(requests.join('\n\n') + '\n');
  });
}
