// A flooding client of the browser host, in its own worker thread (as a hostile page
// would be in its own process): it sends `channel` with `payload` as fast as the
// socket takes them, reads (or, with `read: false`, never reads) what comes back, and
// on the parent's 'stop' message sends device.stop on the same connection and posts
// the epoch time it was sent and the time its reply came back. 'end' closes it.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const { port, token, channel, payload, perTick = 50, read = true, maxBuffered = 1 << 20 } = workerData;
const now = () => performance.timeOrigin + performance.now();
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { origin: `http://127.0.0.1:${port}`, cookie: `unknot_token=${token}` } });
let seq = 0;
let flooding = true;
let sent = 0;
let replies = 0;
let okReplies = 0;
const codes = {};
const waiting = new Map();
ws.on('message', (raw) => {
  const m = JSON.parse(raw.toString());
  if (m.id !== undefined && String(m.id).startsWith('f')) {
    replies += 1;
    if (m.ok) okReplies += 1;
    else codes[m.error.code] = (codes[m.error.code] ?? 0) + 1;
  }
  const w = waiting.get(m.id);
  if (w) {
    waiting.delete(m.id);
    w(m);
  }
});
ws.on('close', (code) => parentPort.postMessage({ type: 'closed', code, sent, replies }));
ws.on('error', () => undefined);
const tick = () => new Promise((r) => setImmediate(r));

async function flood() {
  while (flooding && ws.readyState === ws.OPEN) {
    // never queue more than `maxBuffered` bytes in this client: it floods the host, not itself
    if (ws.bufferedAmount < maxBuffered) {
      for (let i = 0; i < perTick; i++) {
        ws.send(JSON.stringify({ id: `f${++seq}`, channel, payload }));
        sent += 1;
      }
    }
    await tick();
  }
}

ws.once('open', () => {
  if (!read) ws._socket.pause();
  parentPort.postMessage({ type: 'open' });
  void flood();
});
parentPort.on('message', (m) => {
  if (m === 'stop') {
    const id = `stop${++seq}`;
    const at = now();
    waiting.set(id, (reply) => parentPort.postMessage({ type: 'stopped', at, replyAt: now(), ok: reply.ok }));
    ws.send(JSON.stringify({ id, channel: 'device.stop' }));
    parentPort.postMessage({ type: 'stop-sent', at });
  } else if (m === 'count') {
    parentPort.postMessage({ type: 'count', sent, replies, okReplies, codes, buffered: ws.bufferedAmount });
  } else if (m === 'end') {
    flooding = false;
    ws.terminate();
  }
});
