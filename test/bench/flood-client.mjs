// The benchmark's client, in its own worker thread (as a browser would be in its own
// process): it owns the sessions, floods session.setStep at 1,000 per second over the
// browser-host WebSocket, and sends the stops. Times are epoch milliseconds
// (performance.timeOrigin + performance.now()) so the main thread can compare them.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const { port, token, stops, groups } = workerData;
const now = () => performance.timeOrigin + performance.now();
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { headers: { origin: `http://127.0.0.1:${port}` } });
let nextId = 1;
const pending = new Map();
ws.on('message', (raw) => {
  const m = JSON.parse(raw.toString());
  if (typeof m.id === 'number' && pending.has(m.id)) {
    pending.get(m.id)(m);
    pending.delete(m.id);
  }
});
const request = (channel, payload) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, (m) => (m.ok ? resolve(m.result) : reject(new Error(`${channel}: ${m.error.message}`))));
    ws.send(JSON.stringify({ id, channel, payload }));
  });
const fire = (channel, payload) => ws.send(JSON.stringify({ id: nextId++, channel, payload }));
const tick = () => new Promise((r) => setImmediate(r));

/** Sends setStep at 1,000 per second (one per elapsed millisecond) for `ms`, with heartbeats. */
async function flood(sessionId, ms, pick) {
  const start = performance.now();
  let sent = 0;
  let beat = start;
  while (performance.now() - start < ms) {
    const due = Math.floor(performance.now() - start);
    while (sent < due) fire('session.setStep', { sessionId, intensity: pick(sent++) });
    if (performance.now() - beat > 500) {
      fire('session.heartbeat', { sessionId });
      beat = performance.now();
    }
    await tick();
  }
  return { sent, ms: performance.now() - start };
}

async function main() {
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const sentAt = [];
  let floodSent = 0;
  let floodMs = 0;
  for (let i = 0; i < stops; i++) {
    const s = await request('session.start', { muscleGroup: groups[i % groups.length], plannedMotorSeconds: 240 });
    const a = await flood(s.sessionId, 40 + (i % 7) * 5, () => 0.2 + Math.random() * 0.6);
    sentAt.push(now());
    const stopped = request('device.stop');
    // the flood goes on while the stop travels
    const b = await flood(s.sessionId, 10, () => 0.5);
    await stopped;
    floodSent += a.sent + b.sent;
    floodMs += a.ms + b.ms;
  }
  // final value: flood random values, end on a known one, then keep the session alive
  const finals = [];
  for (const last of [0.27, 0.45, 0.9]) {
    const s = await request('session.start', { muscleGroup: 'lower-back', plannedMotorSeconds: 120 });
    await flood(s.sessionId, 300, (i) => (i < 299 ? Math.random() : last));
    await request('session.setStep', { sessionId: s.sessionId, intensity: last });
    const until = performance.now() + 6000;
    while (performance.now() < until) {
      fire('session.heartbeat', { sessionId: s.sessionId });
      await new Promise((r) => setTimeout(r, 250));
    }
    parentPort.postMessage({ type: 'final', last });
    await new Promise((r) => parentPort.once('message', r));
    await request('device.stop');
    finals.push(last);
  }
  parentPort.postMessage({ type: 'done', sentAt, floodSent, floodMs });
  ws.close();
}

main().catch((err) => parentPort.postMessage({ type: 'error', message: String(err?.stack ?? err) }));
