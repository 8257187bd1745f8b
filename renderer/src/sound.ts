/** Step-change sounds: a short WebAudio chime and, optionally, the cue spoken. */
let ctx: AudioContext | null = null;

/** Creates the audio context; call from a user gesture (Start) so it may play. */
export function unlockAudio(): void {
  try {
    if (!ctx && typeof AudioContext !== 'undefined') ctx = new AudioContext();
    if (ctx && ctx.state === 'suspended') void ctx.resume();
  } catch {
    ctx = null;
  }
}

/** Plays one tone: `freq` Hz from `start` (audio-context seconds), rising to `peak` and fading out over `length` seconds. */
function tone(audio: AudioContext, freq: number, type: OscillatorType, start: number, peak: number, length: number): void {
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(peak, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(audio.destination);
  osc.start(start);
  osc.stop(start + length + 0.05);
}

/** Two rising notes: the routine moved to its next step. */
export function chime(): void {
  unlockAudio();
  if (!ctx) return;
  const t0 = ctx.currentTime;
  tone(ctx, 660, 'sine', t0, 0.2, 0.6);
  tone(ctx, 880, 'sine', t0 + 0.16, 0.2, 0.6);
}

/** Three short low beeps: something needs the user's hands now (a stop the massager did not confirm). */
export function alarm(): void {
  unlockAudio();
  if (!ctx) return;
  const t0 = ctx.currentTime;
  for (let i = 0; i < 3; i++) tone(ctx, 440, 'square', t0 + i * 0.3, 0.15, 0.22);
}

export function speak(text: string): void {
  try {
    if (typeof speechSynthesis === 'undefined') return;
    speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(text);
    u.rate = 0.95;
    speechSynthesis.speak(u);
  } catch {
    /* no voice available */
  }
}

export function stopSpeaking(): void {
  try {
    if (typeof speechSynthesis !== 'undefined') speechSynthesis.cancel();
  } catch {
    /* ignore */
  }
}
