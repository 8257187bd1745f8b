/**
 * A raw WebSocket client on a plain TCP socket, for tests of clients that misbehave: it
 * does the opening handshake by hand, sends masked text frames, reads server frames
 * while asked to, and can stop reading altogether (`stopReading`), as a page that no
 * longer reads its socket would.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A text frame from the client (masked, as RFC 6455 requires of clients). */
export function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : n < 65536 ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]) : null;
  if (!head) throw new RangeError('frames over 64 KiB are not needed here');
  const mask = randomBytes(4);
  for (let i = 0; i < n; i += 1) payload[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, mask, payload]);
}

/** A control frame from the client (`opcode` 0x9 ping, 0xA pong; masked; payload ≤ 125 bytes). */
export function clientControlFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i += 1) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | body.length]), mask, body]);
}

/** One raw connection to a browser host's `/ws`. */
export class RawWsClient {
  /** Text messages read so far (while reading). */
  readonly messages: Record<string, unknown>[] = [];
  /** Bytes received from the host in all. */
  bytesIn = 0;
  closed = false;
  /** Pings read are answered with a pong (set false for a client that never answers). */
  answerPings = true;
  private buf = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.bytesIn += d.length;
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Connects and upgrades with the host's own Origin and the token cookie. */
  static open(port: number, token: string): Promise<RawWsClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
            `Origin: http://127.0.0.1:${port}\r\nCookie: unknot_token=${token}\r\n\r\n`,
        );
      });
      let head = '';
      const onData = (d: Buffer): void => {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
        const client = new RawWsClient(socket);
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length) socket.emit('data', rest);
        resolve(client);
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  /** Sends one request envelope as a text frame; false when the socket's own buffer is full. */
  send(message: unknown): boolean {
    return this.socket.write(clientFrame(JSON.stringify(message)));
  }

  /** The reply to request `id`, once read (polls; fails after `ms`). */
  async reply(id: string, ms = 10_000): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.messages.find((x) => x.id === id);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no reply ${id}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** From now on nothing more is read from the socket (the kernel's buffers fill, then the host's). */
  stopReading(): void {
    this.socket.pause();
  }

  /** Reads again. */
  startReading(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (op === 1) this.messages.push(JSON.parse(payload.toString()) as Record<string, unknown>);
      // a ping is answered with its payload, as a browser does (while this client reads)
      if (op === 9 && this.answerPings) this.socket.write(clientControlFrame(0x0a, payload));
      if (op === 8) this.closed = true;
    }
  }
}
