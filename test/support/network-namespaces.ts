import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { BlockList, isIPv4 } from 'node:net';

/**
 * The only addresses a test may put on an interface: the IPv4 documentation ranges
 * (RFC 5737 §3), which no real network routes, so nothing a test sends can leave the box.
 */
const documentation = new BlockList();
documentation.addSubnet('192.0.2.0', 24, 'ipv4');
documentation.addSubnet('198.51.100.0', 24, 'ipv4');
documentation.addSubnet('203.0.113.0', 24, 'ipv4');

/** `a.b.c.d/len` inside one of the documentation ranges (the whole prefix, not only the address). */
function assertDocumentationPrefix(cidr: string): void {
  const [address, length] = cidr.split('/');
  const ok = address !== undefined && isIPv4(address) && Number(length) >= 24 && Number(length) <= 32 && documentation.check(address, 'ipv4');
  if (!ok) throw new Error(`${cidr}: test namespaces take only prefixes inside 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24`);
}

const NAME = /^sb-[a-z0-9-]{1,12}$/;

function ip(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

/**
 * Why network namespaces cannot be used here, or null when they can: they need root
 * (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and a kernel that lets this container make
 * them. A probe namespace is made and removed at once to find out.
 */
export function networkNamespacesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = 'sb-probe-ns';
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (add.error) return `ip netns unavailable: ${add.error.message}`;
  if (add.status !== 0) return `ip netns unavailable: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'delete', probe], { timeout: 5000 });
  return null;
}

export interface VethEnd {
  /** Namespace the end goes into. */
  readonly ns: string;
  /** Interface name, at most 15 characters (IFNAMSIZ). */
  readonly name: string;
  /** Its address with prefix length, e.g. `198.51.100.1/24`. */
  readonly address: string;
}

/**
 * Network namespaces and veth pairs that a test creates and removes: nothing is made in
 * the root namespace (each veth end is created directly in its namespace), names start
 * with `sb-`, and only documentation addresses are accepted. Processes started with
 * `spawn` run in their own process group so that `dispose` can end all they started.
 *
 * @example
 * const net = new NetworkNamespaces();
 * try {
 *   net.add('sb-a'); net.add('sb-b');
 *   net.link({ ns: 'sb-a', name: 'sb-ab', address: '198.51.100.1/24' }, { ns: 'sb-b', name: 'sb-ba', address: '198.51.100.2/24' });
 *   const server = net.spawn('sb-b', [process.execPath, 'server.js']);
 * } finally {
 *   await net.dispose();
 * }
 */
export class NetworkNamespaces {
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  /** Creates `name`, removing first a namespace of that name an interrupted run left behind, and brings up its loopback. */
  add(name: string): void {
    if (!NAME.test(name)) throw new Error(`${name}: namespace names are sb- and up to 12 of [a-z0-9-]`);
    if (ip(['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === name)) ip(['netns', 'delete', name]);
    ip(['netns', 'add', name]);
    this.namespaces.push(name);
    // No IPv6: its link-local addresses would have the veths talk (neighbour discovery,
    // MLD) with addresses outside the documentation ranges, and captures would show it.
    this.exec(name, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    this.exec(name, ['ip', 'link', 'set', 'lo', 'up']);
  }

  /** A veth pair between two namespaces of this set, both ends addressed and up. */
  link(a: VethEnd, b: VethEnd): void {
    for (const end of [a, b]) {
      if (!this.namespaces.includes(end.ns)) throw new Error(`${end.ns} is not a namespace of this test`);
      if (!NAME.test(end.name) || end.name.length > 15) throw new Error(`${end.name}: interface names are sb- and at most 15 characters`);
      assertDocumentationPrefix(end.address);
    }
    ip(['link', 'add', a.name, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.ns]);
    for (const end of [a, b]) {
      this.exec(end.ns, ['ip', 'address', 'add', end.address, 'dev', end.name]);
      this.exec(end.ns, ['ip', 'link', 'set', end.name, 'up']);
    }
  }

  /** A static route in `ns`; both the destination and the gateway must be documentation addresses. */
  route(ns: string, destination: string, via: string): void {
    assertDocumentationPrefix(destination);
    assertDocumentationPrefix(`${via}/32`);
    this.exec(ns, ['ip', 'route', 'add', destination, 'via', via]);
  }

  /** Turns IPv4 forwarding on in `ns` (it is off in a new namespace, whatever the host does). */
  forward(ns: string): void {
    this.exec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** Runs a short command in `ns` and returns its stdout; throws with its stderr when it fails. */
  exec(ns: string, argv: readonly string[]): string {
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of this test`);
    return ip(['netns', 'exec', ns, ...argv]);
  }

  /** Runs a command in `ns` without blocking and resolves with its stdout; rejects when it fails or outlives `timeoutMs`. */
  run(ns: string, argv: readonly string[], timeoutMs = 10_000): Promise<string> {
    const child = this.spawn(ns, argv);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => void stopGroup(child, 500, 'SIGKILL'), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`${argv.join(' ')} in ${ns}: ${signal ?? `exit ${code}`}: ${stderr.trim()}`));
      });
    });
  }

  /** Starts a process in `ns`, in a process group of its own; `dispose` ends it if it is still running. */
  spawn(ns: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of this test`);
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Ends every process started here (SIGTERM, then SIGKILL after `graceMs`) and deletes the namespaces, which takes their veths with them. */
  async dispose(graceMs = 3000): Promise<void> {
    await Promise.all([...this.children].map((child) => stopGroup(child, graceMs)));
    for (const name of this.namespaces.splice(0).reverse()) {
      spawnSync('ip', ['netns', 'delete', name], { timeout: 5000 });
    }
  }
}

/** Signals a process group started with `detached: true` and waits for its leader to exit. */
export function stopGroup(child: ChildProcess, graceMs = 3000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  const kill = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // The group is gone already.
    }
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      // Whatever the leader left in its group (dumpcap under tshark) goes too.
      kill('SIGKILL');
      resolve();
    });
    kill(signal);
  });
}
