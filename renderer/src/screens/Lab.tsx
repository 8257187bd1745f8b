/**
 * The device lab: every advertising device (name, signal, advertised services, manufacturer
 * data in hex), and a read-only look inside one of them: its GATT table (services,
 * characteristics, properties, descriptors), a read of any readable characteristic (hex and
 * text), a subscription to any notifying one with a live log, and the capture's download.
 * Looking inside has no way to write to a device: main offers none. Below it, the draft
 * editor (`LabDraft.tsx`), whose try is the only way bytes reach the device, under the governor.
 */
import { useEffect, useId, useState } from 'react';
import type { LabCharacteristic, LabNotification, LabReadResult, LabView, ScanEntry } from '../contract';
import { call, on, tryCall } from '../api';
import { useActions } from '../controller';
import { useBusyAction } from '../hooks';
import { t } from '../i18n/en';
import { useStore } from '../store';
import { LabDraft } from './LabDraft';
import { spacedHex, timeOfDay } from '../components/TrafficLog';
import { saveTextFile } from '../save-file';

/** How many notifications the live log shows (newest first). */
const SHOWN_LOG = 50;

/** Names of the standard UUIDs a massager commonly has (noble form). */
const KNOWN_UUIDS: Readonly<Record<string, string>> = {
  '1800': 'Generic Access',
  '1801': 'Generic Attribute',
  '180a': 'Device Information',
  '180f': 'Battery',
  '2a19': 'Battery Level',
  '2a24': 'Model Number',
  '2a26': 'Firmware Revision',
  '2a29': 'Manufacturer Name',
  '2902': 'Client Characteristic Configuration',
};

/** A UUID with its standard name when it has one. */
function uuidLabel(uuid: string): string {
  const name = KNOWN_UUIDS[uuid];
  return name ? `${uuid} (${name})` : uuid;
}



const IDLE: LabView = { state: 'idle', services: [], log: [], captureReady: false };

/** The screen. */
export function Lab() {
  const [view, setView] = useState<LabView>(IDLE);
  const [log, setLog] = useState<LabNotification[]>([]);
  const [reads, setReads] = useState<Record<string, LabReadResult>>({});
  // One lab request at a time; a refusal's message is shown.
  const { busy, error, act } = useBusyAction();
  useEffect(() => {
    let live = true;
    void tryCall('lab.get').then((v) => {
      if (live && v) {
        setView(v);
        setLog(v.log);
      }
    });
    const offState = on('lab.state', (v) => {
      setView(v);
      if (v.state === 'connecting') {
        setLog([]);
        setReads({});
      }
    });
    const offNote = on('lab.notification', (n) => setLog((l) => (l.length >= 200 ? [...l.slice(l.length - 199), n] : [...l, n])));
    return () => {
      live = false;
      offState();
      offNote();
    };
  }, []);


  return (
    <div className="screen lab">
      <h1>{t.lab.heading}</h1>
      <p className="lead">{t.lab.intro}</p>
      <ScanList view={view} busy={busy} explore={(e) => void act(async () => setView(await call('lab.connect', { peripheralId: e.peripheralId })))} />
      {error && (
        <p className="notice warn" role="alert">
          {error}
        </p>
      )}
      {view.state !== 'idle' && (
        <Inside
          view={view}
          log={log}
          reads={reads}
          busy={busy}
          read={(service, c) =>
            void act(async () => {
              const r = await call('lab.read', { service, characteristic: c.uuid });
              setReads((m) => ({ ...m, [`${service}/${c.uuid}`]: r }));
            })
          }
          subscribe={(service, c) => void act(async () => setView(await call('lab.subscribe', { service, characteristic: c.uuid })))}
          close={() => void act(async () => setView(await call('lab.disconnect')))}
          exportCapture={() =>
            void act(async () => {
              const capture = await call('lab.capture');
              saveTextFile(capture.fileName, capture.text);
            })
          }
        />
      )}
      <LabDraft view={view} />
    </div>
  );
}

function ScanList({ view, busy, explore }: { view: LabView; busy: boolean; explore: (e: ScanEntry) => void }) {
  const uid = useId();
  const devices = useStore((s) => s.devices);
  const scanning = useStore((s) => s.scanning);
  const actions = useActions();
  const sorted = [...devices].sort((a, b) => a.name.localeCompare(b.name) || a.peripheralId.localeCompare(b.peripheralId));
  return (
    <section className="card" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>{t.lab.nearby}</h2>
      <div className="row">
        <button type="button" className="btn" disabled={scanning} onClick={() => void actions.scan()}>
          {scanning ? t.lab.scanning : t.lab.scan}
        </button>
      </div>
      {sorted.length === 0 ? (
        <p className="hint">{t.lab.noneYet}</p>
      ) : (
        <div className="table-wrap">
          <table className="table lab-table">
            <caption className="sr-only">{t.lab.nearby}</caption>
            <thead>
              <tr>
                <th scope="col">{t.lab.col.name}</th>
                <th scope="col">{t.lab.col.rssi}</th>
                <th scope="col">{t.lab.col.services}</th>
                <th scope="col">{t.lab.col.manufacturer}</th>
                <th scope="col">{t.lab.col.known}</th>
                <th scope="col">
                  <span className="sr-only">{t.lab.col.action}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((e) => {
                const here = view.peripheralId === e.peripheralId && (view.state === 'connected' || view.state === 'connecting');
                return (
                  <tr key={e.peripheralId} data-peripheral={e.peripheralId}>
                    <th scope="row">
                      {e.name}
                      {e.simulated && <span className="badge sim">{t.pairing.simulated}</span>}
                    </th>
                    <td>{t.lab.dbm(e.rssi)}</td>
                    <td className="mono">{e.advertisement.serviceUuids.length ? e.advertisement.serviceUuids.map(uuidLabel).join(', ') : '—'}</td>
                    <td className="mono">{e.advertisement.manufacturerData ? spacedHex(e.advertisement.manufacturerData) : '—'}</td>
                    <td>{e.candidates.length ? e.candidates.map((c) => c.displayName).join(', ') : t.lab.unknown}</td>
                    <td>
                      {here ? (
                        <span className="badge ok">{t.lab.open}</span>
                      ) : (
                        <button type="button" className="btn small" disabled={busy} aria-label={t.lab.exploreNamed(e.name)} onClick={() => explore(e)}>
                          {t.lab.explore}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface InsideProps {
  view: LabView;
  log: LabNotification[];
  reads: Record<string, LabReadResult>;
  busy: boolean;
  read: (service: string, c: LabCharacteristic) => void;
  subscribe: (service: string, c: LabCharacteristic) => void;
  close: () => void;
  exportCapture: () => void;
}

function Inside({ view, log, reads, busy, read, subscribe, close, exportCapture }: InsideProps) {
  const uid = useId();
  const connected = view.state === 'connected';
  const shown = log.slice(-SHOWN_LOG).reverse();
  return (
    <section className="card" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>{t.lab.inside(view.name ?? view.peripheralId ?? '')}</h2>
      <p className="hint">{t.lab.readOnly}</p>
      <p className={`status-line ${connected ? 'ok' : 'warn'}`} role="status">
        <span className="dot" aria-hidden="true" />
        {t.lab.states[view.state]}
        {view.message ? ` ${view.message}` : ''}
      </p>
      <div className="row">
        {connected && (
          <button type="button" className="btn" disabled={busy} onClick={close}>
            {t.lab.disconnect}
          </button>
        )}
        <button type="button" className="btn" disabled={busy || !view.captureReady} onClick={exportCapture}>
          {t.lab.exportCapture}
        </button>
      </div>
      {view.services.map((s) => (
        <div key={s.uuid} className="lab-service" data-service={s.uuid}>
          <h3 className="mono">{t.lab.service(uuidLabel(s.uuid))}</h3>
          <div className="table-wrap">
            <table className="table lab-table lab-gatt">
              <caption className="sr-only">{t.lab.characteristicsOf(s.uuid)}</caption>
              <thead>
                <tr>
                  <th scope="col">{t.lab.col.characteristic}</th>
                  <th scope="col">{t.lab.col.properties}</th>
                  <th scope="col">{t.lab.col.descriptors}</th>
                  <th scope="col">{t.lab.col.value}</th>
                </tr>
              </thead>
              <tbody>
                {s.characteristics.map((c) => {
                  const r = reads[`${s.uuid}/${c.uuid}`];
                  const canRead = c.properties.includes('read');
                  const canListen = c.properties.includes('notify') || c.properties.includes('indicate');
                  return (
                    <tr key={c.uuid} data-characteristic={c.uuid}>
                      <th scope="row" className="mono">
                        {uuidLabel(c.uuid)}
                      </th>
                      <td>{c.properties.join(', ') || '—'}</td>
                      <td className="mono">{c.descriptors === undefined ? t.lab.notDiscovered : c.descriptors.length ? c.descriptors.map(uuidLabel).join(', ') : '—'}</td>
                      <td>
                        <div className="lab-value">
                        {r && (
                          <span className="lab-read" data-testid="lab-read">
                            <code>{spacedHex(r.hex) || t.lab.empty}</code>
                            {r.text !== null && <> · “{r.text}”</>}
                          </span>
                        )}
                        {canRead && (
                          <button type="button" className="btn small" disabled={busy || !connected} aria-label={t.lab.readNamed(c.uuid)} onClick={() => read(s.uuid, c)}>
                            {t.lab.read}
                          </button>
                        )}
                        {canListen &&
                          (c.subscribed ? (
                            <span className="badge ok">{t.lab.listening}</span>
                          ) : (
                            <button type="button" className="btn small" disabled={busy || !connected} aria-label={t.lab.subscribeNamed(c.uuid)} onClick={() => subscribe(s.uuid, c)}>
                              {t.lab.subscribe}
                            </button>
                          ))}
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      ))}
      <h3>{t.lab.liveLog}</h3>
      {shown.length === 0 ? (
        <p className="hint">{t.lab.noNotifications}</p>
      ) : (
        <div className="table-wrap">
          <table className="table lab-table lab-log">
            <caption className="sr-only">{t.lab.liveLog}</caption>
            <thead>
              <tr>
                <th scope="col">{t.lab.col.time}</th>
                <th scope="col">{t.lab.col.characteristic}</th>
                <th scope="col">{t.lab.col.bytes}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((n, i) => (
                <tr key={`${n.atMs}-${log.length - i}`}>
                  <td>{timeOfDay(new Date(n.atMs).toISOString())}</td>
                  <td className="mono">{n.characteristic}</td>
                  <td className="mono">{spacedHex(n.hex)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
