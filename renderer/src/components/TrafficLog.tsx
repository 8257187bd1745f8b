/**
 * A device's recent traffic as a table: time, direction (to the device, from it, or a link
 * event), the characteristic in short form and the bytes in hex, with what a write was for
 * and how it ended, whether a notification was understood. Presentational only: it shows
 * the entries it is given (the device panel passes the store's `trafficOf`; the lab's try
 * panel can pass its device's).
 */
import type { TrafficEntry } from '../contract';
import { t } from '../i18n/en';

/** What {@link TrafficLog} shows. */
export interface TrafficLogProps {
  /** Oldest first, as the store keeps them. */
  entries: readonly TrafficEntry[];
  /** How many of the latest are shown (default 20). */
  limit?: number;
  /** The table's caption (default "Recent traffic"). */
  caption?: string;
  /** Only notifications (the lab's try panel shows them beside its steps). */
  notificationsOnly?: boolean;
}

/** A UUID in short form: a 16- or 32-bit one as it is, a 128-bit one by its first 8 hex digits. */
export function shortUuid(uuid: string): string {
  return uuid.length > 8 ? `${uuid.slice(0, 8)}…` : uuid;
}

/** Hex in pairs, for reading: `aa8103` → `aa 81 03`. */
export function spacedHex(hex: string): string {
  return hex.replace(/(..)(?=.)/g, '$1 ');
}

/** The local time of an ISO stamp, with milliseconds: `14:03:07.250`. */
export function timeOfDay(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** What one entry says beside its bytes: a write's purpose and a bad outcome, a notification not understood. */
function noteOf(e: TrafficEntry): string {
  if (e.type === 'write') return [t.traffic.purposes[e.purpose] ?? e.purpose, t.traffic.outcomes[e.outcome]].filter(Boolean).join(', ');
  if (e.type === 'notification') return e.decoded ? '' : t.traffic.notDecoded;
  return '';
}

/** See the module comment. */
export function TrafficLog({ entries, limit = 20, caption = t.traffic.recent, notificationsOnly = false }: TrafficLogProps) {
  const shown = (notificationsOnly ? entries.filter((e) => e.type === 'notification') : entries).slice(-limit).reverse();
  if (shown.length === 0) return <p className="hint">{t.traffic.empty}</p>;
  return (
    <div className="table-wrap">
      <table className="table traffic-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t.traffic.col.time}</th>
            <th scope="col">{t.traffic.col.direction}</th>
            <th scope="col">{t.traffic.col.characteristic}</th>
            <th scope="col">{t.traffic.col.bytes}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => {
            const note = noteOf(e);
            return (
              <tr key={`${e.t}-${i}`} className={`traffic-${e.type}${e.type === 'write' && e.outcome !== 'written' ? ' traffic-bad' : ''}`}>
                <td className="mono">{timeOfDay(e.at)}</td>
                <td>{e.type === 'write' ? t.traffic.toDevice : e.type === 'notification' ? t.traffic.fromDevice : t.traffic.link}</td>
                <td className="mono">{e.type === 'link' ? '' : <abbr title={`${e.service} / ${e.characteristic}`}>{shortUuid(e.characteristic)}</abbr>}</td>
                <td>
                  {e.type === 'link' ? (
                    <span>
                      {t.traffic.events[e.event] ?? e.event}
                      {e.detail ? ` (${e.detail})` : ''}
                    </span>
                  ) : (
                    <>
                      <code>{spacedHex(e.hex)}</code>
                      {e.fullLength !== undefined && <span className="hint"> {t.traffic.cut(e.fullLength)}</span>}
                      {note && <span className="hint"> {note}</span>}
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
