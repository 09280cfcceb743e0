// Runs in one namespace and tries a TCP connection to each host:port given as an argument,
// printing one JSON line: { "host:port": "connected" | error code | "timeout" }.
// From inside a namespace the answer is the kernel's: ENETUNREACH when no route leads
// there, ECONNREFUSED when the host is reached but nothing listens on that address.
import { connect } from 'node:net';

const attempt = (target: string): Promise<string> => {
  const at = target.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: target.slice(0, at), port: Number(target.slice(at + 1)), timeout: 2000 });
    const done = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () => done('connected'));
    socket.once('timeout', () => done('timeout'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
};

const targets = process.argv.slice(2);
const outcomes = await Promise.all(targets.map(attempt));
console.log(JSON.stringify(Object.fromEntries(targets.map((t, i) => [t, outcomes[i]]))));
