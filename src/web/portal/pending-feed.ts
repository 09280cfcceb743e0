import type { ServerResponse } from 'node:http';

/** How often the store is asked whether a subscriber's pending purchases changed. */
const CHECK_MS = 1000;
/** A comment line this often keeps the stream alive through the listener's idle timeout and proxies. */
const HEARTBEAT_MS = 15_000;
const MAX_STREAMS_PER_SUBSCRIBER = 8;

interface Stream {
  subscriberId: string;
  /** The web session the stream was opened in: the stream lasts no longer than it does. */
  sessionId: string;
  /** The page's session's CSRF token: the forms of the list sent to it carry it. */
  csrf: string;
  response: ServerResponse;
  key: string;
  lastWrite: number;
}

/**
 * Server-sent events that tell a subscriber's open Purchases pages when the pending list
 * changes. It asks the store (not this process's memory), once a second for each
 * subscriber with a page open, so a purchase created through another gateway on the same
 * PostgreSQL appears too; nothing runs while no page is open. Each check also asks
 * whether each stream's web session still stands: one ended by a log-out, a password reset
 * or a suspension (on any gateway), evicted or idle too long, closes its streams before
 * they are sent anything more.
 */
export class PendingFeed {
  private readonly streams = new Set<Stream>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly keyOf: (subscriberId: string) => Promise<string>,
    private readonly render: (subscriberId: string, csrf: string) => Promise<{ html: string; announce: string }>,
    /** Whether the web session still stands, signed in as this subscriber. */
    private readonly signedIn: (sessionId: string, subscriberId: string) => Promise<boolean>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Adds a stream; the oldest of the subscriber's streams is closed past the per-subscriber bound. */
  async open(subscriberId: string, sessionId: string, csrf: string, response: ServerResponse): Promise<void> {
    const mine = [...this.streams].filter((s) => s.subscriberId === subscriberId);
    if (mine.length >= MAX_STREAMS_PER_SUBSCRIBER) this.close(mine[0]!);
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    response.write('retry: 2000\n\n');
    const stream: Stream = { subscriberId, sessionId, csrf, response, key: await this.keyOf(subscriberId), lastWrite: Date.now() };
    this.streams.add(stream);
    response.on('close', () => this.streams.delete(stream));
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), CHECK_MS);
      this.timer.unref();
    }
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      if (this.streams.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
        return;
      }
      const now = Date.now();
      const standing = new Map<string, boolean>();
      const keys = new Map<string, string>();
      for (const s of this.streams) {
        if (!standing.has(s.sessionId)) standing.set(s.sessionId, await this.signedIn(s.sessionId, s.subscriberId));
        if (!standing.get(s.sessionId)) {
          this.close(s);
          continue;
        }
        if (!keys.has(s.subscriberId)) keys.set(s.subscriberId, await this.keyOf(s.subscriberId));
        const key = keys.get(s.subscriberId)!;
        if (key !== s.key) {
          s.key = key;
          const event = await this.render(s.subscriberId, s.csrf);
          s.response.write(`event: pending\ndata: ${JSON.stringify(event)}\n\n`);
          s.lastWrite = now;
        } else if (now - s.lastWrite > HEARTBEAT_MS) {
          s.response.write(': still here\n\n');
          s.lastWrite = now;
        }
      }
    } catch (e) {
      this.onError(e);
    } finally {
      this.checking = false;
    }
  }

  private close(stream: Stream): void {
    this.streams.delete(stream);
    stream.response.end();
  }

  /** Closes the streams opened in one web session, when it ends here (a log-out). */
  closeSession(sessionId: string): void {
    for (const s of this.streams) if (s.sessionId === sessionId) this.close(s);
  }

  closeAll(): void {
    for (const s of this.streams) this.close(s);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
