/** Settings: limits within their bounds, health answers, appearance, sound, data. */
import { useState } from 'react';
import { Screening } from '../components/Screening';
import type { SettingsPatch, SettingsView } from '../contract';
import { useActions } from '../controller';
import { t } from '../i18n/en';
import { chime, unlockAudio } from '../sound';
import { rulesOf, useStore } from '../store';
import { ceilingOf } from './DevicePanel';

/** True on macOS, where accelerators read ⌘⇧… rather than Ctrl+Shift+…. */
export function isMac(): boolean {
  if (typeof navigator === 'undefined') return false;
  return /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '');
}

const MAC_SYMBOLS: Record<string, string> = { Cmd: '⌘', Ctrl: '⌃', Alt: '⌥', Shift: '⇧' };

/**
 * An Electron accelerator ("CommandOrControl+Shift+Space") as people write it:
 * "Ctrl+Shift+Space", or "⌘⇧Space" on macOS.
 */
export function formatAccelerator(accelerator: string, mac = isMac()): string {
  const names = accelerator.split('+').map((part) => {
    const k = part.trim();
    switch (k.toLowerCase()) {
      case 'commandorcontrol':
      case 'cmdorctrl':
        return mac ? 'Cmd' : 'Ctrl';
      case 'command':
      case 'cmd':
        return 'Cmd';
      case 'super':
      case 'meta':
        return mac ? 'Cmd' : 'Super';
      case 'control':
      case 'ctrl':
        return 'Ctrl';
      case 'alt':
      case 'option':
        return 'Alt';
      case 'shift':
        return 'Shift';
      default:
        return k.length === 1 ? k.toUpperCase() : k;
    }
  });
  return mac ? names.map((n) => MAC_SYMBOLS[n] ?? n).join('') : names.join('+');
}

function NumberSetting(props: { id: string; label: string; hint: string; value: number; min: number; max: number; step: number; onCommit: (v: number) => void; format: (v: number) => string }) {
  const [v, setV] = useState(props.value);
  const [last, setLast] = useState(props.value);
  if (props.value !== last) {
    setLast(props.value);
    setV(props.value);
  }
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="range"
        min={props.min}
        max={props.max}
        step={props.step}
        value={v}
        aria-describedby={`${props.id}-hint`}
        aria-valuetext={props.format(v)}
        onChange={(e) => setV(Number(e.target.value))}
        onPointerUp={() => props.onCommit(v)}
        onKeyUp={() => props.onCommit(v)}
        onBlur={() => v !== props.value && props.onCommit(v)}
      />
      <output htmlFor={props.id} className="slider-value">
        {props.format(v)}
      </output>
      <span id={`${props.id}-hint`} className="hint">
        {props.hint}
      </span>
    </div>
  );
}

/**
 * What stops the massager from outside the window on this desktop: the global stop
 * shortcut only where it works (the shell says so in `settings.desktop`), else why not;
 * and a note when the desktop shows no tray icon.
 */
function DesktopStops({ settings }: { settings: SettingsView }) {
  const desktop = settings.desktop;
  const shortcut = desktop ? desktop.stopShortcut : settings.stopShortcut;
  return (
    <>
      {shortcut ? (
        <p className="hint">
          {t.settings.shortcut}: <kbd>{formatAccelerator(shortcut)}</kbd>
        </p>
      ) : (
        desktop?.stopShortcutProblem && <p className="hint">{t.settings.noShortcut[desktop.stopShortcutProblem]}</p>
      )}
      {desktop?.tray === false && <p className="hint">{t.settings.noTray}</p>}
    </>
  );
}

export function Settings() {
  const settings = useStore((s) => s.settings);
  const device = useStore((s) => s.device);
  const ceiling = useStore(ceilingOf);
  const rules = useStore(rulesOf);
  const dataDir = useStore((s) => s.settings?.dataDir ?? s.info?.dataDir ?? '');
  // A global shortcut exists only in the desktop app, not in a browser tab.
  const electron = useStore((s) => s.info?.host === 'electron');
  const [confirm, setConfirm] = useState('');
  const actions = useActions();

  if (!settings || !rules) return <div className="screen"><h1>{t.settings.heading}</h1></div>;

  const commit = async (patch: SettingsPatch): Promise<void> => {
    if (await actions.saveSettings(patch)) actions.announce(t.settings.saved);
  };

  return (
    <div className="screen">
      <h1>{t.settings.heading}</h1>

      <section className="card" aria-labelledby="lim-h">
        <h2 id="lim-h">{t.settings.limits}</h2>
        {device.protocolId ? (
          <NumberSetting
            id="set-ceiling"
            label={t.settings.ceiling(device.name ?? device.protocolId)}
            hint={t.settings.ceilingHint(Math.round(rules.ceilingRange.min * 100), Math.round(rules.ceilingRange.max * 100))}
            value={Math.round(ceiling * 100)}
            min={Math.round(rules.ceilingRange.min * 100)}
            max={Math.round(rules.ceilingRange.max * 100)}
            step={5}
            format={(v) => `${v}%`}
            onCommit={(v) => void commit({ ceilings: { [device.protocolId!]: v / 100 } })}
          />
        ) : (
          <p className="hint">{t.settings.ceilingNoDevice}</p>
        )}
        <NumberSetting
          id="set-cap"
          label={t.settings.sessionCap}
          hint={t.settings.sessionCapHint(rules.sessionCapSeconds.min, rules.sessionCapSeconds.max)}
          value={settings.sessionCapSeconds}
          min={rules.sessionCapSeconds.min}
          max={rules.sessionCapSeconds.max}
          step={30}
          format={t.settings.seconds}
          onCommit={(v) => void commit({ sessionCapSeconds: v })}
        />
        <NumberSetting
          id="set-budget"
          label={t.settings.dailyBudget}
          hint={t.settings.dailyBudgetHint(rules.dailyBudgetSeconds.min, rules.dailyBudgetSeconds.max)}
          value={settings.dailyBudgetSeconds}
          min={rules.dailyBudgetSeconds.min}
          max={rules.dailyBudgetSeconds.max}
          step={30}
          format={t.settings.seconds}
          onCommit={(v) => void commit({ dailyBudgetSeconds: v })}
        />
      </section>

      <section className="card">
        <Screening all headingLevel={2} />
      </section>

      <section className="card" aria-labelledby="app-h">
        <h2 id="app-h">{t.settings.appearance}</h2>
        <fieldset className="inline-radios">
          <legend>{t.settings.theme}</legend>
          {(['system', 'light', 'dark'] as const).map((th) => (
            <label key={th}>
              <input type="radio" name="theme" checked={settings.theme === th} onChange={() => void commit({ theme: th })} />
              {t.settings.themes[th]}
            </label>
          ))}
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={settings.reducedMotion} onChange={(e) => void commit({ reducedMotion: e.target.checked })} />
          {t.settings.reducedMotion}
        </label>
        <fieldset className="inline-radios">
          <legend>{t.settings.sound}</legend>
          {(['off', 'chime', 'chime-and-voice'] as const).map((so) => (
            <label key={so}>
              <input type="radio" name="sound" checked={settings.sound === so} onChange={() => void commit({ sound: so })} />
              {t.settings.sounds[so]}
            </label>
          ))}
        </fieldset>
        <button
          type="button"
          className="btn small"
          onClick={() => {
            unlockAudio();
            chime();
          }}
        >
          {t.settings.testSound}
        </button>
        {electron && <DesktopStops settings={settings} />}
      </section>

      <section className="card" aria-labelledby="data-h">
        <h2 id="data-h">{t.settings.data}</h2>
        <p>
          {t.settings.dataDir}: <code className="path">{dataDir}</code>
        </p>
        <h3>{t.settings.deleteHeading}</h3>
        <p className="hint" id="del-hint">
          {t.settings.deleteHint}
        </p>
        <div className="row">
          <label htmlFor="del-confirm" className="sr-only">
            {t.settings.deleteConfirmLabel}
          </label>
          <input id="del-confirm" type="text" value={confirm} autoComplete="off" aria-describedby="del-hint" onChange={(e) => setConfirm(e.target.value)} />
          <button
            type="button"
            className="btn danger"
            disabled={confirm.trim().toLowerCase() !== t.settings.deletePhrase}
            onClick={async () => {
              if (await actions.deleteData()) {
                setConfirm('');
                actions.announce(t.settings.deleted, true);
              }
            }}
          >
            {t.settings.deleteButton}
          </button>
        </div>
      </section>
    </div>
  );
}
