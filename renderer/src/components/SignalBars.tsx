import { t } from '../i18n/en';

/** Four bars from RSSI, with the dBm value as text. */
export function rssiBars(rssi: number): number {
  if (!Number.isFinite(rssi) || rssi >= 0) return 0;
  if (rssi >= -60) return 4;
  if (rssi >= -70) return 3;
  if (rssi >= -80) return 2;
  if (rssi >= -90) return 1;
  return 0;
}

export function SignalBars({ rssi }: { rssi: number }) {
  const bars = rssiBars(rssi);
  return (
    <span className="signal">
      <svg className="signal-bars" viewBox="0 0 20 16" width="20" height="16" role="img" aria-label={t.pairing.signalLabel(bars)}>
        {[0, 1, 2, 3].map((i) => (
          <rect key={i} x={i * 5} y={12 - i * 4} width="3.5" height={4 + i * 4} rx="1" className={i < bars ? 'on' : 'off'} />
        ))}
      </svg>
      <span className="signal-text">{t.pairing.signal(Math.round(rssi))}</span>
    </span>
  );
}
