/**
 * A WebSocket client of the browser host for tests: sends requests in the bridge's
 * envelope, matches replies by id, keeps every event and notes how the connection closed.
 */
import WebSocket from 'ws';

type Msg = Record<string, unknown>;

/** One client connection to a browser host at `port` with `token`. */
export class HostClient {
  readonly events: Msg[] = [];
  readonly replies = new Map<string | number, Msg>();
  closed: { code: number } | null = null;
  private seq = 0;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if ('event' in m) this.events.push(m);
      else this.replies.set(m.id as string | number, m);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = { code };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a connection with the host's own Origin and the token cookie. */
  static open(port: number, token: string): Promise<HostClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { origin: `http://127.0.0.1:${port}`, cookie: `unknot_token=${token}` } });
      ws.once('open', () => resolve(new HostClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends a request without waiting; returns its id. */
  fire(channel: string, payload?: unknown): string {
    this.seq += 1;
    const id = `r${this.seq}`;
    this.ws.send(JSON.stringify(payload === undefined ? { id, channel } : { id, channel, payload }));
    return id;
  }

  /** Waits for the reply to request `id` (fails after `ms` or when the connection closes first). */
  async reply(id: string, ms = 15_000): Promise<Msg> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.replies.get(id);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed (${this.closed.code}) before reply ${id}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no reply ${id} in ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** A request; resolves with its reply envelope. */
  request(channel: string, payload?: unknown, ms?: number): Promise<Msg> {
    return this.reply(this.fire(channel, payload), ms);
  }

  /** A request that must succeed; resolves with its result. */
  async ok<T = unknown>(channel: string, payload?: unknown): Promise<T> {
    const r = await this.request(channel, payload);
    if (r.ok !== true) throw new Error(`${channel}: ${JSON.stringify(r.error)}`);
    return r.result as T;
  }

  /** Resolves when the connection has closed (fails after `ms`). */
  async whenClosed(ms = 10_000): Promise<{ code: number }> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error(`still open after ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }
}
