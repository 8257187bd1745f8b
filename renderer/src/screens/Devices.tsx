/** The pairing screen: adapter state, demo switch, scan, found devices; then the device panel. */
import { useId, useState } from 'react';
import type { ScanEntry } from '../contract';
import { SignalBars } from '../components/SignalBars';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { deviceConnected, useStore } from '../store';
import { DevicePanel } from './DevicePanel';

const isRemembered = (e: ScanEntry): boolean => e.remembered;

export function sortDevices(devices: ScanEntry[]): ScanEntry[] {
  return [...devices].sort((a, b) => {
    const ra = isRemembered(a) ? 1 : 0;
    const rb = isRemembered(b) ? 1 : 0;
    if (ra !== rb) return rb - ra;
    // A stable order (not by signal, which moves): buttons stay where the user aims.
    return (a.name || a.peripheralId).localeCompare(b.name || b.peripheralId) || a.peripheralId.localeCompare(b.peripheralId);
  });
}

function AdapterCard() {
  const adapter = useStore((s) => s.adapter);
  const demo = useStore((s) => Boolean(s.adapter?.demo || s.info?.demo));
  const actions = useActions();
  const state = adapter?.state ?? 'unknown';
  const usable = state === 'poweredOn';
  return (
    <section className="card" aria-labelledby="adapter-h">
      <h2 id="adapter-h">{t.adapter.heading}</h2>
      <p className={`status-line ${usable ? 'ok' : 'warn'}`}>
        <span className="dot" aria-hidden="true" />
        {t.adapter.states[state] ?? state}
      </p>
      {adapter?.message && adapter.message !== t.adapter.states[state] && <p>{adapter.message}</p>}
      {adapter?.hint && !usable && <p className="hint">{adapter.hint}</p>}
      {demo ? (
        <p className="hint">{t.adapter.demoOn}</p>
      ) : (
        !usable && (
          <button type="button" className="btn primary" onClick={() => void actions.enableDemo()}>
            {t.adapter.tryDemo}
          </button>
        )
      )}
    </section>
  );
}

/** `confirmed`: connected to this device, so its protocol was found (no longer a candidate). */
function DeviceItem({ entry, busy, current, confirmed }: { entry: ScanEntry; busy: boolean; current: boolean; confirmed: boolean }) {
  const uid = useId();
  const actions = useActions();
  const nameId = `${uid}-name`;
  const descId = `${uid}-desc`;
  const candidates = entry.candidates ?? [];
  // Several protocols match and none was picked before: the user says which device this is.
  const mustPick = candidates.length > 1 && !isRemembered(entry);
  const strong = candidates.filter((c) => c.confidence === 'strong');
  const [picked, setPicked] = useState<string>(strong.length === 1 ? strong[0]!.protocolId : (candidates[0]?.protocolId ?? ''));
  const shownId = mustPick ? picked : entry.rememberedProtocolId;
  const first = candidates.find((c) => c.protocolId === shownId) ?? candidates[0];
  const kind = first ? t.kinds[first.kind] : t.pairing.unknownKind;
  const experimental = candidates.some((c) => c.experimental);
  const userProfile = (first ?? candidates[0])?.userProfile;
  const pickId = `${uid}-pick`;
  return (
    <li className="device-item">
      <div role="group" aria-labelledby={nameId} className="device-row">
        <div className="device-main">
          <span className="device-name" id={nameId}>
            {entry.name || entry.peripheralId}
          </span>
          <span className="device-desc" id={descId}>
            {kind}
            {first ? ` · ${first.displayName}` : ''}
            {first?.confidence === 'candidate' && !confirmed ? ` (${t.pairing.candidate})` : ''}
          </span>
          <span className="badges">
            {isRemembered(entry) && <span className="badge">{t.pairing.remembered}</span>}
            {entry.simulated && <span className="badge sim">{t.pairing.simulated}</span>}
            {experimental && (
              <span className="badge exp" title={entry.candidates.find((c) => c.experimental)?.experimental}>
                {t.pairing.experimental}
              </span>
            )}
            {userProfile && (
              <span className="badge exp" title={userProfile.draft ? undefined : userProfile.file}>
                {userProfile.draft ? t.profiles.draftNotVerified : t.profiles.notVerified}
              </span>
            )}
          </span>
        </div>
        {mustPick && !current && (
          <span className="field device-pick">
            <label htmlFor={pickId}>{t.pairing.protocolLabel}</label>
            <select id={pickId} value={picked} onChange={(e) => setPicked(e.target.value)}>
              {candidates.map((c) => (
                <option key={c.protocolId} value={c.protocolId}>
                  {c.displayName}
                </option>
              ))}
            </select>
          </span>
        )}
        <SignalBars rssi={entry.rssi} />
        {current ? (
          <span className="badge ok">{t.pairing.isConnected}</span>
        ) : (
          <button type="button" className="btn primary" aria-describedby={`${nameId} ${descId}`} disabled={busy} onClick={() => void actions.connect(entry, mustPick ? picked : undefined)}>
            {t.pairing.connect}
          </button>
        )}
      </div>
    </li>
  );
}

/**
 * When the device connects, the Connect button that had focus is replaced by a badge:
 * hand focus to "Choose a routine" instead of letting it fall back to <body>.
 */
function focusIfLost(el: HTMLButtonElement | null): void {
  if (el && (document.activeElement === null || document.activeElement === document.body)) el.focus();
}

export function Devices() {
  const devices = useStore((s) => s.devices);
  const actions = useActions();
  const scanning = useStore((s) => s.scanning);
  const device = useStore((s) => s.device);
  const connected = useStore(deviceConnected);
  const sorted = sortDevices(devices);
  const busy = device.connection === 'connecting';

  return (
    <div className="screen">
      <h1>{t.pairing.heading}</h1>
      <AdapterCard />

      {device.connection !== 'disconnected' && (
        <section className="card connected" aria-labelledby="conn-h">
          <h2 id="conn-h" className="sr-only">
            {t.device.heading}
          </h2>
          <p className="status-line ok" role="status">
            <span className="dot" aria-hidden="true" />
            {device.connection === 'connecting'
              ? t.pairing.connecting
              : device.connection === 'reconnecting'
                ? t.pairing.reconnecting(device.name ?? '')
                : t.pairing.connected(device.name ?? '')}
          </p>
          {connected && (
            <div className="row">
              <button type="button" className="btn primary" ref={focusIfLost} onClick={() => actions.go('routines')}>
                {t.pairing.chooseRoutine}
              </button>
              <button type="button" className="btn" onClick={() => void actions.disconnect()}>
                {t.pairing.disconnect}
              </button>
            </div>
          )}
        </section>
      )}

      {connected && <DevicePanel />}

      <section className="card" aria-labelledby="scan-h">
        <h2 id="scan-h">{t.pairing.found(devices.length)}</h2>
        <p className="hint">{t.pairing.intro}</p>
        <div className="row">
          <button type="button" className="btn" onClick={() => void actions.scan()}>
            {t.pairing.scan}
          </button>
          <span className="hint" role="status">
            {scanning ? t.pairing.scanning : ''}
          </span>
        </div>
        {sorted.length === 0 ? (
          <p className="empty">{t.pairing.none}</p>
        ) : (
          <ul className="device-list">
            {sorted.map((e) => (
              <DeviceItem
                key={e.peripheralId}
                entry={e}
                busy={busy}
                current={device.connection !== 'disconnected' && device.peripheralId === e.peripheralId}
                confirmed={connected && device.peripheralId === e.peripheralId}
              />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
