import type { Command } from 'commander';
import type { DynamicAuthorizationView } from '../../aaa/service/dynamic-authorization-queue.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { SessionView } from '../../provisioning/sessions.ts';
import { integer, type Cli } from '../main.ts';

/** One line per Disconnect- or CoA-Request: what, why, and what the NAS said. */
export function describeRequest(d: DynamicAuthorizationView): string {
  const cause = d.errorCause ? ` Error-Cause ${d.errorCause.value}${d.errorCause.name ? ` ${d.errorCause.name}` : ''}` : '';
  const timeout = d.sessionTimeout !== null ? ` Session-Timeout ${d.sessionTimeout}` : '';
  const where = d.destination ? ` to ${d.destination}` : '';
  const tries = d.attempts > 0 ? ` after ${d.attempts} send${d.attempts === 1 ? '' : 's'}` : '';
  const why = d.detail && typeof d.detail.message === 'string' ? `: ${d.detail.message}` : '';
  return `${d.id}  ${d.request}${timeout} (${d.reason}, by ${d.requestedBy} at ${d.requestedAt})  ${d.status}${cause}${where}${tries}${why}`;
}

function describeSession(s: SessionView): string {
  const lines = [
    `${s.id}  ${s.login}  ${s.status}${s.closedBy ? ` (closed by ${s.closedBy}${s.terminateCause ? `: ${s.terminateCause}` : ''})` : ''}`,
    `  NAS             ${s.nasId}${s.nasIdentifier ? ` (${s.nasIdentifier})` : ''}${s.nasPort !== null ? ` port ${s.nasPort}` : ''}`,
    `  Acct-Session-Id ${s.acctSessionId ?? '-'}`,
    `  address         ${s.framedAddress ?? '-'}`,
    `  times           authorized ${s.authorizedAt ?? '-'}, started ${s.startedAt ?? '-'}, ended ${s.endedAt ?? '-'}`,
    `  session time    ${s.sessionTime} s${s.sessionTimeout !== null ? ` of ${s.sessionTimeout} s granted` : ''}, ${s.chargedSeconds} s charged`,
  ];
  lines.push(`  NAS requests    ${s.dynamicAuthorizations.length === 0 ? '(none)' : ''}`);
  for (const d of s.dynamicAuthorizations) lines.push(`    ${describeRequest(d)}`);
  return lines.join('\n');
}

/** What a finished request means for the command's exit: an ACK is success, the rest an error with its code. */
function verdict(d: DynamicAuthorizationView): DynamicAuthorizationView {
  if (d.status === 'ack') return d;
  const code: ErrorCode =
    d.status === 'nak' ? 'DYNAMIC_AUTHORIZATION_NAK'
      : d.status === 'timeout' ? 'DYNAMIC_AUTHORIZATION_NO_ANSWER'
        : d.status === 'failed' ? ((d.detail?.code as ErrorCode | undefined) ?? 'DYNAMIC_AUTHORIZATION_NO_DESTINATION')
          : 'DYNAMIC_AUTHORIZATION_NOT_SENT';
  const stillQueued = d.status === 'pending' || d.status === 'sending' ? ` It stays queued (${d.status}); \`sideband session show ${d.sessionId}\` shows its outcome.` : '';
  throw new SidebandError(code, `${describeRequest(d)}.${stillQueued}`);
}

export function registerSessionCommands(program: Command, cli: Cli): void {
  const cmd = program.command('session').description('subscribers\' sessions, and ending one at its NAS (RFC 5176)');

  cmd.command('show <id>')
    .description('show a session: accounting, address, and the Disconnect/CoA requests sent to its NAS with their outcomes')
    .action(async (id: string) => cli.withContext(async (ctx, out) => out.result(await ctx.sessions.show(id), describeSession)));

  cmd.command('disconnect <id>')
    .description('send the session\'s NAS a Disconnect-Request (RFC 5176); a running gateway sends it')
    .option('--wait', 'wait for the NAS\'s answer and print it; exit non-zero on a NAK or no answer', false)
    .option('--wait-seconds <n>', 'how long --wait waits', integer('--wait-seconds'), 30)
    .action(async (id: string, o: { wait: boolean; waitSeconds: number }) =>
      cli.withContext(async (ctx, out) => {
        const queued = await ctx.sessions.disconnect(id);
        if (!o.wait) return out.result(queued, (d: DynamicAuthorizationView) => `queued ${describeRequest(d)}`);
        out.note(`queued ${queued.id}; waiting for a gateway to send it and for the NAS's answer…`);
        const done = verdict(await ctx.sessions.waitFor(queued.id, o.waitSeconds * 1000));
        out.result(done, describeRequest);
      }));
}
