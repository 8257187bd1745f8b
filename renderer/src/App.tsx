/** The app shell: header and navigation, banners, the current screen, the simulated-devices panel, live regions. */
import { useEffect, useRef } from 'react';
import { ObservedSession } from './components/ObservedSession';
import { useActions } from './controller';
import { t } from './i18n/en';
import { Devices } from './screens/Devices';
import { OffUnconfirmed } from './screens/DevicePanel';
import { FirstRun } from './screens/FirstRun';
import { Guided } from './screens/Guided';
import { History } from './screens/History';
import { Routines } from './screens/Routines';
import { Profiles } from './screens/Profiles';
import { Lab } from './screens/Lab';
import { Settings } from './screens/Settings';
import { SimPanel } from './screens/SimPanel';
import { isRunActive } from './run';
import { motorBlocked, observedSession, onlyDeviceQuestionsLeft, screeningComplete, useStore, type Screen } from './store';

const NAV: { screen: Screen; label: string }[] = [
  { screen: 'devices', label: t.nav.devices },
  { screen: 'routines', label: t.nav.routines },
  { screen: 'history', label: t.nav.history },
  { screen: 'settings', label: t.nav.settings },
  { screen: 'profiles', label: t.nav.profiles },
  { screen: 'lab', label: t.nav.lab },
  { screen: 'first-run', label: t.nav.about },
];

function useTheme(): void {
  const theme = useStore((s) => s.settings?.theme ?? 'system');
  const systemDark = useStore((s) => s.systemDark);
  const reduced = useStore((s) => s.systemReducedMotion || Boolean(s.settings?.reducedMotion));
  useEffect(() => {
    const resolved = theme === 'system' ? (systemDark ? 'dark' : 'light') : theme;
    document.documentElement.dataset.theme = resolved;
    document.documentElement.dataset.reducedMotion = reduced ? 'true' : 'false';
  }, [theme, systemDark, reduced]);
}

function LiveRegions() {
  const polite = useStore((s) => s.polite);
  const assertive = useStore((s) => s.assertive);
  return (
    <>
      <div className="sr-only" role="status" aria-live="polite" aria-atomic="true">
        <span key={polite.n}>{polite.text}</span>
      </div>
      <div className="sr-only" role="alert" aria-live="assertive" aria-atomic="true">
        <span key={assertive.n}>{assertive.text}</span>
      </div>
    </>
  );
}

function Banners() {
  const link = useStore((s) => s.link);
  const warning = useStore((s) => s.warning);
  const notice = useStore((s) => s.notice);
  const needsFirstRun = useStore((s) => Boolean(s.settings) && (!screeningComplete(s) || !s.settings?.doctorNoticeAcknowledged));
  // Only the connected device's own questions are missing (the general ones are answered).
  const baseAnswered = useStore(onlyDeviceQuestionsLeft);
  const blocked = useStore(motorBlocked);
  const screen = useStore((s) => s.screen);
  const offUnconfirmed = useStore((s) => s.device.offUnconfirmed === true);
  const actions = useActions();
  return (
    <div className="banners">
      {link === 'lost' && (
        <div className="banner danger" role="alert">
          <strong>{t.link.lost}</strong> {t.link.lostHint}
        </div>
      )}
      <ObservedSession />
      {offUnconfirmed && screen !== 'devices' && <OffUnconfirmed />}
      {blocked && <div className="banner warn">{t.screening.blocked}</div>}
      {needsFirstRun && !blocked && screen !== 'first-run' && (
        <div className="banner info">
          {baseAnswered ? t.firstRun.bannerEms : t.firstRun.banner}{' '}
          <button type="button" className="btn small" onClick={() => actions.go('first-run')}>
            {t.firstRun.bannerAction}
          </button>
        </div>
      )}
      {warning && (
        <div className="banner warn" role="alert">
          {warning}{' '}
          <button type="button" className="btn small" aria-label={t.dismiss} onClick={() => actions.dismissWarning()}>
            ×
          </button>
        </div>
      )}
      {notice && (
        <div className="banner info">
          {notice}{' '}
          <button type="button" className="btn small" aria-label={t.dismiss} onClick={() => actions.dismissNotice()}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}

export function App() {
  useTheme();
  const screen = useStore((s) => s.screen);
  const demo = useStore((s) => Boolean(s.adapter?.demo || s.info?.demo));
  const actions = useActions();
  const runActive = useStore((s) => isRunActive(s.run));
  const runMode = useStore((s) => s.run?.mode);
  const observing = useStore((s) => observedSession(s) !== null);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    // Move focus to the new screen's heading (made focusable for this), so keyboard and
    // screen-reader users continue from the top of the screen instead of from <body>.
    const heading = mainRef.current?.querySelector<HTMLElement>('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    } else {
      mainRef.current?.focus({ preventScroll: true });
    }
  }, [screen]);

  return (
    <div className={`app ${demo ? 'with-sim' : ''}`}>
      <a className="skip" href="#main">
        {t.skipToContent}
      </a>
      <header className="top">
        <span className="brand">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M4 12c3-6 5 6 8 0s5 6 8 0" className="brand-mark" />
          </svg>
          {t.appName}
        </span>
        <nav aria-label={t.nav.label}>
          <ul>
            {NAV.map((n) => (
              <li key={n.screen}>
                <button type="button" className="nav-btn" aria-current={screen === n.screen ? 'page' : undefined} onClick={() => actions.go(n.screen)}>
                  {n.label}
                </button>
              </li>
            ))}
            {runMode === 'routine' && runActive && (
              <li>
                <button type="button" className="nav-btn live" aria-current={screen === 'guided' ? 'page' : undefined} onClick={() => actions.go('guided')}>
                  {t.nav.running}
                </button>
              </li>
            )}
          </ul>
        </nav>
        {(runActive || observing) && screen !== 'guided' && screen !== 'devices' && (
          <button type="button" className="btn stop small" onClick={() => void actions.stopEverything()}>
            {t.device.stop}
          </button>
        )}
      </header>
      <Banners />
      <div className="layout">
        <main id="main" ref={mainRef} tabIndex={-1}>
          {screen === 'devices' && <Devices />}
          {screen === 'routines' && <Routines />}
          {screen === 'guided' && <Guided />}
          {screen === 'history' && <History />}
          {screen === 'settings' && <Settings />}
          {screen === 'profiles' && <Profiles />}
          {screen === 'lab' && <Lab />}
          {screen === 'first-run' && <FirstRun />}
        </main>
        {demo && (
          <aside className="side">
            <SimPanel />
          </aside>
        )}
      </div>
      <LiveRegions />
    </div>
  );
}
