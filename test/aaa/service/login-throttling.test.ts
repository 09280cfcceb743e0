import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { encodeAccessRequest } from '../../../src/aaa/protocol/encode-request.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import { dialects } from '../../support/databases.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

const SECRET = 'throttle-nas-shared-secret';

/** A NAS on its own UDP socket and loopback address; each log-in waits for its answer. */
class Nas {
  private socket: Socket = createSocket('udp4');
  private identifier = 0;
  constructor(private readonly address: string) {}
  async open(): Promise<void> {
    this.socket.bind(0, this.address);
    await once(this.socket, 'listening');
  }
  /** The answer's code and Reply-Message. */
  async login(server: string, login: string, password: string, callingStationId: string): Promise<{ code: string; reply: string | undefined }> {
    const [host, port] = server.split(':');
    const identifier = this.identifier++ & 0xff;
    const request = encodeAccessRequest({ identifier, secret: SECRET, password, attributes: [{ name: 'User-Name', value: login }, { name: 'NAS-Port', value: 1 }, { name: 'Calling-Station-Id', value: callingStationId }] });
    const answered = once(this.socket, 'message') as Promise<[Buffer]>;
    this.socket.send(request, Number(port), host);
    const [datagram] = await answered;
    const decoded = decodePacket(datagram);
    assert.ok(decoded.ok);
    assert.equal(decoded.packet.identifier, identifier);
    return { code: decoded.packet.code, reply: decoded.packet.text('Reply-Message') };
  }
  /** Sends every guess at once, each with its own identifier, and answers their Reply-Messages in order. */
  async burst(server: string, login: string, passwords: string[], callingStationId: string): Promise<string[]> {
    const [host, port] = server.split(':');
    const first = this.identifier;
    this.identifier += passwords.length;
    const replies = new Map<number, string>();
    const all = new Promise<void>((resolve) => {
      const onMessage = (datagram: Buffer) => {
        const decoded = decodePacket(datagram);
        if (!decoded.ok) return;
        replies.set(decoded.packet.identifier, decoded.packet.text('Reply-Message') ?? decoded.packet.code);
        if (replies.size === passwords.length) {
          this.socket.off('message', onMessage);
          resolve();
        }
      };
      this.socket.on('message', onMessage);
    });
    passwords.forEach((password, k) => {
      const request = encodeAccessRequest({ identifier: (first + k) & 0xff, secret: SECRET, password, attributes: [{ name: 'User-Name', value: login }, { name: 'NAS-Port', value: 1 }, { name: 'Calling-Station-Id', value: callingStationId }] });
      this.socket.send(request, Number(port), host);
    });
    await all;
    return passwords.map((_, k) => replies.get((first + k) & 0xff)!);
  }
  /** Sends a request whose CHAP-Password is 5 octets (a NAS's is 17): it must be dropped unanswered. */
  sendMalformedChap(server: string, login: string): void {
    const [host, port] = server.split(':');
    const request = encodeAccessRequest({ identifier: this.identifier++ & 0xff, secret: SECRET, attributes: [{ name: 'User-Name', value: login }, { name: 'NAS-Port', value: 1 }, { name: 'CHAP-Password', value: Buffer.alloc(5, 1) }] });
    this.socket.send(request, Number(port), host);
  }
  close(): void {
    this.socket.close();
  }
}

const dropped = async (t: TestGateway, cause: string): Promise<number> => {
  const line = (await t.gateway.metrics.registry.metrics()).split('\n').find((l) => l.startsWith('sideband_radius_dropped_total{') && l.includes(`cause="${cause}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

for (const dialect of dialects) {
  describe(`failed log-in throttling on ${dialect}`, () => {
    let t: TestGateway;
    let server: string;
    const bng = new Nas('127.0.0.1');
    const other = new Nas('127.0.0.2');

    before(async () => {
      t = await startTestGateway(dialect, `login-throttling-${dialect}`, { radius: { maxFailures: 3, maxFailuresPerLogin: 5, failureWindowSeconds: 600 } });
      const ctx = t.gateway.context;
      await ctx.network.addPool({ name: 'access', cidr: '198.51.100.0/24' });
      await ctx.network.addNas({ name: 'bng-one', address: '127.0.0.1/32', secret: SECRET, pool: 'access' });
      await ctx.network.addNas({ name: 'bng-two', address: '127.0.0.2/32', secret: SECRET, pool: 'access' });
      for (const login of ['hugo', 'ines', 'jules', 'kira']) await ctx.subscribers.add({ login, password: `${login}-password` });
      await t.gateway.authentication.nas.load();
      server = t.gateway.listen.radiusAuth!;
      await bng.open();
      await other.open();
    });
    after(async () => {
      bng.close();
      other.close();
      await t?.dispose();
    });

    it('throttles guesses at one login from a new calling station each time, on that NAS only, and leaves other logins alone', async () => {
      // Below the per-station count at each station, up to the per-login count in all.
      for (let i = 0; i < 5; i++) {
        const guess = await bng.login(server, 'hugo', `guess-number-${i}`, `02:00:00:00:00:${String(i).padStart(2, '0')}`);
        assert.match(guess.reply ?? '', /AAA_CREDENTIALS_REJECTED/, `guess ${i}`);
      }
      const right = await bng.login(server, 'hugo', 'hugo-password', '02:00:00:00:00:99');
      assert.equal(right.code, 'Access-Reject');
      assert.match(right.reply ?? '', /AAA_THROTTLED/, 'a station never seen before is refused too: the login is being guessed');
      assert.equal((await other.login(server, 'hugo', 'hugo-password', '02:00:00:00:00:99')).code, 'Access-Accept', 'on another NAS the login is not throttled');
      assert.equal((await bng.login(server, 'ines', 'ines-password', '02:00:00:00:00:00')).code, 'Access-Accept', 'another login is not throttled');
    });

    it('guesses sent at once are checked no more often than one at a time would be', async () => {
      const guesses = Array.from({ length: 40 }, (_, i) => `guess-at-once-${i}`);
      const replies = await bng.burst(server, 'kira', guesses, '02:00:00:00:02:00');
      const checked = replies.filter((r) => /AAA_CREDENTIALS_REJECTED/.test(r)).length;
      assert.equal(checked, 3, `per-station count: ${JSON.stringify(replies)}`);
      assert.equal(replies.filter((r) => /AAA_THROTTLED/.test(r)).length, 37);
      assert.match((await bng.login(server, 'kira', 'kira-password', '02:00:00:00:02:00')).reply ?? '', /AAA_THROTTLED/);
    });

    it('a malformed CHAP-Password is dropped for a known login as for an unknown one, and counts as no guess', async () => {
      const before = await dropped(t, 'password-malformed');
      bng.sendMalformedChap(server, 'ines');
      bng.sendMalformedChap(server, 'nobody-by-that-name');
      // Answered after the two above were read: they are decided before any await, in order.
      assert.equal((await bng.login(server, 'ines', 'ines-password', '02:00:00:00:03:00')).code, 'Access-Accept');
      assert.equal(await dropped(t, 'password-malformed'), before + 2, 'both dropped: the answer does not tell which login exists');
    });

    it('still throttles one calling station at the lower per-station count', async () => {
      for (let i = 0; i < 3; i++) assert.match((await bng.login(server, 'jules', `guess-number-${i}`, '02:00:00:00:01:00')).reply ?? '', /AAA_CREDENTIALS_REJECTED/);
      assert.match((await bng.login(server, 'jules', 'jules-password', '02:00:00:00:01:00')).reply ?? '', /AAA_THROTTLED/);
      assert.equal((await bng.login(server, 'jules', 'jules-password', '02:00:00:00:01:01')).code, 'Access-Accept', 'from another station, below the per-login count');
    });
  });
}
