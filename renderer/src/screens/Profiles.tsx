/**
 * Your profiles: the device profiles of the user's (files in the data folder's `profiles/`),
 * each accepted or refused with every problem (field path and reason) under its file name;
 * an import (a file picker: the browser's upload, Electron's native dialog, both sending the
 * text on `profiles.import`) and a reload after dropping a file into the folder.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { MAX_PROFILE_TEXT, type ProfileFileResult, type ProfilesView } from '../contract';
import { on, tryCall } from '../api';
import { t } from '../i18n/en';

/** The screen. */
export function Profiles() {
  const uid = useId();
  const [view, setView] = useState<ProfilesView | null>(null);
  const [last, setLast] = useState<ProfileFileResult | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement | null>(null);
  useEffect(() => {
    let live = true;
    void tryCall('profiles.list').then((v) => live && v && setView(v));
    const off = on('profiles.changed', (v) => setView(v));
    return () => {
      live = false;
      off();
    };
  }, []);

  const importFile = async (file: File): Promise<void> => {
    setBusy(true);
    try {
      const text = file.size > 256 * 1024 ? 'x'.repeat(MAX_PROFILE_TEXT + 1024) : await file.text();
      const r = await tryCall('profiles.import', { fileName: file.name, text: text.slice(0, MAX_PROFILE_TEXT + 1) });
      if (r) {
        setLast(r.result);
        setView(r.view);
      } else {
        setLast({ file: file.name, ok: false, errors: [{ path: '(file)', message: t.profiles.tooLarge }] });
      }
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  return (
    <section className="card" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>{t.profiles.heading}</h2>
      <p className="hint">{t.profiles.intro}</p>
      {view && (
        <p className="hint">
          {t.profiles.folder} <code>{view.folder}</code>
        </p>
      )}
      <div className="row">
        <label className="btn" htmlFor={`${uid}-file`}>
          {t.profiles.import}
        </label>
        <input
          ref={input}
          id={`${uid}-file`}
          className="sr-only"
          type="file"
          accept=".json,application/json"
          disabled={busy}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void importFile(f);
          }}
        />
        <button type="button" className="btn" disabled={busy} onClick={() => void tryCall('profiles.reload').then((v) => v && setView(v))}>
          {t.profiles.reload}
        </button>
      </div>
      {last && (
        <div role="status" className={last.ok ? 'notice' : 'notice warn'}>
          {last.ok ? t.profiles.imported(last.file) : t.profiles.refusedImport(last.file)}
        </div>
      )}
      {view && view.files.length === 0 && <p>{t.profiles.none}</p>}
      {view && view.files.length > 0 && (
        <ul className="profile-files" aria-label={t.profiles.listLabel}>
          {view.files.map((f) => (
            <ProfileFile key={f.file} f={f} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ProfileFile({ f }: { f: ProfileFileResult }) {
  return (
    <li className="profile-file" data-file={f.file}>
      <strong>{f.file}</strong>{' '}
      {f.ok ? (
        <>
          · {f.name} · {t.kinds[f.kind]} <span className="badge exp">{t.profiles.notVerified}</span>
        </>
      ) : (
        <>
          <span className="badge warn">{t.profiles.refused}</span>
          <ul className="profile-errors" aria-label={t.profiles.errorsOf(f.file)}>
            {f.errors.map((e, i) => (
              <li key={i}>
                <code>{e.path}</code>: {e.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </li>
  );
}
