/**
 * Every text the UI shows, in one place so it can be translated. Functions take
 * the values a sentence needs; nothing else in the renderer holds user-facing words
 * (messages from the main process are shown as they arrive).
 */
import type { MuscleGroup, Motion, SessionEndReason, AdapterStateName, ProtocolCandidate } from '../contract';

/** A device step with its unit: "2169 rpm", but "level 7" and "speed 3". */
const stepText = (step: number, unit: string): string => (!unit ? String(step) : unit === 'rpm' ? `${step} rpm` : `${unit} ${step}`);

/** Whole minutes of a number of seconds, for limits (300 → "5"). */
const wholeMin = (sec: number): string => String(Math.round(sec / 60));

const min = (sec: number): string => {
  const m = Math.round(sec / 6) / 10;
  return `${Number.isInteger(m) ? m.toFixed(0) : m.toFixed(1)} min`;
};

/** Today's time left for an area; under a minute counts as none (no session starts with less). */
const leftToday = (sec: number, area = ''): string =>
  sec <= 0
    ? `No time left today${area ? ` for ${area}` : ''} — it resets at midnight.`
    : sec < 60
      ? `Less than a minute left today${area ? ` for ${area}` : ''} — it resets at midnight.`
      : `${min(sec)} left today${area ? ` for ${area}` : ''}.`;

export const en = {
  appName: 'Unknot',
  tagline: 'Work a knot out of your back, gently.',
  skipToContent: 'Skip to content',
  dismiss: 'Dismiss',

  nav: {
    label: 'Main',
    devices: 'Devices',
    routines: 'Routines',
    history: 'History',
    settings: 'Settings',
    profiles: 'Your profiles',
    lab: 'Device lab',
    about: 'Safety',
    running: 'Routine in progress',
  },

  link: {
    connecting: 'Connecting to Unknot…',
    lost: 'Lost contact with Unknot — the massager was stopped.',
    lostHint: 'Trying to reconnect. If the massager is still running, switch it off with its own button.',
    back: 'Back in contact with Unknot.',
    noBridge: 'This page must be opened from Unknot.',
  },

  groups: {
    neck: 'Neck',
    shoulders: 'Shoulders',
    'upper-back': 'Upper back',
    rhomboids: 'Between the shoulder blades',
    'lower-back': 'Lower back',
  } satisfies Record<MuscleGroup, string>,

  motions: {
    circular: 'Small circles around the knot',
    'back-and-forth': 'Short strokes toward the knot and back',
    'on-knot': 'Hold still on the knot',
    'long-strokes': 'Long, slow strokes over the whole back',
  } satisfies Record<Motion, string>,

  kinds: {
    percussive: 'Massage gun',
    chair: 'Massage chair',
    cushion: 'Massage cushion',
    ems: 'EMS pad',
  } satisfies Record<ProtocolCandidate['kind'], string>,

  adapter: {
    heading: 'Bluetooth',
    states: {
      unknown: 'Checking Bluetooth…',
      resetting: 'Bluetooth is restarting…',
      unsupported: 'No usable Bluetooth adapter was found.',
      unauthorized: 'Unknot may not use Bluetooth.',
      poweredOff: 'Bluetooth is off.',
      poweredOn: 'Bluetooth is ready.',
      unavailable: 'Bluetooth is not available.',
    } satisfies Record<AdapterStateName, string>,
    tryDemo: 'Try simulated devices',
    demoOn: 'Simulated devices are on.',
  },

  pairing: {
    heading: 'Connect your massager',
    intro: 'Switch the massager on, keep it close, then scan.',
    scan: 'Scan',
    scanning: 'Scanning for massagers…',
    notScanning: 'Not scanning.',
    found: (n: number) => (n === 1 ? '1 device found' : `${n} devices found`),
    none: 'No devices found yet.',
    connect: 'Connect',
    disconnect: 'Disconnect',
    isConnected: 'connected',
    connecting: 'Connecting…',
    connected: (name: string) => `Connected to ${name}.`,
    reconnecting: (name: string) => `Lost ${name}. Reconnecting…`,
    chooseRoutine: 'Choose a routine',
    simulated: 'simulated',
    experimental: 'experimental',
    remembered: 'remembered',
    candidate: 'to be confirmed after connecting',
    unknownKind: 'Unknown device',
    signal: (dbm: number) => `${dbm < 0 ? '−' + Math.abs(dbm) : dbm} dBm`,
    signalLabel: (bars: number) => `Signal ${bars} of 4`,
    protocolLabel: 'Which device is this?',
  },

  profiles: {
    heading: 'Your device profiles',
    intro:
      'A profile describes a massager Unknot does not know. Profiles you add are checked when they load, and they run under every safety limit: at most 30% intensity and the gentlest ramp until you raise the ceiling.',
    folder: 'Profile folder:',
    import: 'Import a profile file…',
    reload: 'Read the folder again',
    none: 'No profiles of yours yet.',
    listLabel: 'Profile files',
    notVerified: 'your profile — not verified',
    refused: 'refused',
    errorsOf: (file: string) => `Problems in ${file}`,
    imported: (file: string) => `${file} was checked and saved.`,
    refusedImport: (file: string) => `${file} was not saved: it has the problems listed below.`,
    tooLarge: 'The file could not be read or is too large for a profile.',
  },

  lab: {
    heading: 'Device lab',
    intro:
      'Look inside a Bluetooth device, even one Unknot does not know: what it advertises, its services and characteristics, what it sends. The lab only listens and reads; it never sends a command, so no motor moves. What you find can go into a profile of your own, or into a capture to attach to a protocol report.',
    nearby: 'Devices nearby',
    scan: 'Scan',
    scanning: 'Scanning…',
    noneYet: 'No devices heard yet. Scan to list every device that advertises.',
    col: {
      name: 'Name',
      rssi: 'Signal',
      services: 'Advertised services',
      manufacturer: 'Manufacturer data (hex)',
      known: 'Known as',
      action: 'Action',
      characteristic: 'Characteristic',
      properties: 'Properties',
      descriptors: 'Descriptors',
      value: 'Value',
      time: 'Time',
      bytes: 'Bytes (hex)',
    },
    dbm: (rssi: number) => `${rssi} dBm`,
    unknown: 'unknown',
    explore: 'Look inside',
    exploreNamed: (name: string) => `Look inside ${name}`,
    open: 'open in the lab',
    inside: (name: string) => `Inside ${name}`,
    readOnly: 'Read-only: the lab reads and listens, and has no way to write to the device.',
    states: { idle: 'Not connected.', connecting: 'Connecting and reading its table…', connected: 'Connected, read-only.', disconnected: 'Disconnected.' },
    disconnect: 'Disconnect',
    exportCapture: 'Download capture (JSON lines)',
    service: (uuid: string) => `Service ${uuid}`,
    characteristicsOf: (uuid: string) => `Characteristics of service ${uuid}`,
    notDiscovered: 'not available',
    empty: '(empty)',
    read: 'Read',
    readNamed: (uuid: string) => `Read ${uuid}`,
    subscribe: 'Listen',
    subscribeNamed: (uuid: string) => `Listen to notifications of ${uuid}`,
    listening: 'listening',
    liveLog: 'Live notifications',
    noNotifications: 'No notifications yet. Listen to a characteristic that notifies.',
  },

  // ---- a device's recent traffic: the device panel's "Report a problem" (and the lab's try panel) ----
  traffic: {
    heading: 'Report a problem with this device',
    intro:
      'Unknot keeps what it sent to this device and what the device answered over the last 5 minutes (while the app runs, never on disk). If the device does something odd, save a capture and attach it to your report: it holds this device only.',
    recent: 'Recent traffic',
    empty: 'Nothing sent or received yet.',
    save: 'Save a capture of this device',
    saved: (name: string) => `Capture saved as ${name}.`,
    col: { time: 'Time', direction: 'Direction', characteristic: 'Characteristic', bytes: 'Bytes (hex) or event' },
    toDevice: 'to device',
    fromDevice: 'from device',
    link: 'link',
    purposes: {
      stop: 'stop',
      step: 'step',
      mode: 'mode',
      command: 'command',
      keepalive: 'keep-alive',
      init: 'start-up',
      'status-query': 'status request',
      'follow-up': 'reply',
    } as Record<string, string>,
    outcomes: { written: '', failed: 'failed', 'timed-out': 'timed out' } as Record<string, string>,
    notDecoded: 'not understood',
    events: {
      connected: 'Connected',
      reconnected: 'Reconnected',
      dropped: 'Link lost',
      closed: 'Disconnected',
      reconnecting: 'Reconnecting',
      'reconnect-failed': 'Gave up reconnecting',
      'stop-confirmed': 'Stop confirmed',
      'stop-unconfirmed': 'Stop not confirmed',
      'stop-cannot-confirm': 'Stop sent; the device cannot confirm it',
      notice: 'Notice',
    } as Record<string, string>,
  },

  stopCheck: {
    heading: 'Stop check',
    intro:
      'This massager runs on a profile of your own. Before its motor runs for anything else, check that Unknot can stop it: it runs at its lowest step for 2 seconds, then Unknot stops it. Hold it or sit on it as you would, and watch.',
    group: 'Area the check is counted against',
    run: 'Run the stop check',
    running: 'Running at the lowest step… then stopping.',
    question: 'Did it stop?',
    yes: 'Yes, it stopped',
    no: 'No, it kept running',
    passed: 'Stop check passed for this version of the profile.',
    failed:
      'You said it did not stop. Switch it off by hand. Motor control stays off for this massager until its profile file changes.',
    needed: 'Run the stop check before using the motor.',
  },

  sim: {
    heading: 'Simulated devices',
    intro: 'What each simulated massager decoded from the bytes it received.',
    connected: 'connected',
    idle: 'not connected',
    faults: 'Inject a fault',
    none: 'No simulated devices.',
    faultSent: (fault: string, name: string) => `Fault “${fault}” sent to ${name}.`,
  },

  routines: {
    heading: 'Routines',
    intro: 'Pick the area where the knot is. Each routine runs 3 to 5 minutes.',
    budgetNote: (maxBudgetSec: number) => `At most ${wholeMin(maxBudgetSec)} minutes a day per area: the daily limit wins over “several times a day”.`,
    filterLabel: 'Show routines for',
    all: 'All areas',
    minutes: (sec: number) => min(sec),
    steps: (n: number) => `${n} steps`,
    left: (sec: number) => leftToday(sec).replace(/\.$/, ''),
    gentle: 'first time',
    emsNeck: 'EMS pads are never used on the neck.',
    open: 'Open',
  },

  library: {
    'upper-back-knot': {
      name: 'Upper back',
      summary: 'The full four-step routine for a knot in the upper back.',
    },
    'upper-back-gentle': {
      name: 'Gentle first try',
      summary: 'Upper back, shorter and softer: learn how the massager feels.',
    },
    'neck-knot': {
      name: 'Neck',
      summary: 'Soft work on the sides and back of the neck. Avoid the front.',
    },
    'shoulders-knot': {
      name: 'Shoulders',
      summary: 'For the top of the shoulders, where desk tension collects.',
    },
    'rhomboids-knot': {
      name: 'Between the shoulder blades',
      summary: 'For the hard-to-reach spot next to the spine.',
    },
    'lower-back-knot': {
      name: 'Lower back',
      summary: 'Beside the spine, never on it.',
    },
  } as Record<string, { name: string; summary: string }>,

  steps: {
    around: {
      title: 'Around the knot',
      cue: 'Circle slowly around the knot, a hand’s width out. Light pressure.',
    },
    toward: {
      title: 'Toward the knot',
      cue: 'Stroke in toward the knot and back out. Let the massager do the work.',
    },
    on: {
      title: 'On the knot',
      cue: 'Press a finger into the knot and rest the massager on it. Low and still.',
    },
    whole: {
      title: 'Whole back',
      cue: 'Sweep long, slow strokes over the whole area to relax it.',
    },
    neckAround: {
      title: 'Around the knot',
      cue: 'Small circles beside the knot. Stay off the spine and the front of the neck.',
    },
    neckWhole: {
      title: 'Neck and shoulders',
      cue: 'Slow strokes down the sides of the neck and out across the shoulders.',
      motion: 'Slow strokes down the neck and across the shoulders',
    },
    lowerWhole: {
      title: 'Whole lower back',
      cue: 'Long strokes on both sides of the spine, from the waist up.',
      motion: 'Long, slow strokes beside the spine',
    },
  },

  prep: {
    heading: 'Before you start',
    intro: 'The massager stays off until you press Start.',
    items: [
      'Sit or lie somewhere comfortable.',
      'Loosen tight clothing.',
      'Warm the area first: a heating pad or a hot bath.',
      'Find the knot with your fingers.',
    ],
    checklistLabel: 'Preparation',
    start: 'Start',
    starting: 'Starting…',
    back: 'Back to routines',
    needDevice: 'Connect a massager first.',
    goConnect: 'Go to devices',
    needScreening: 'Answer the health questions above before the first start.',
    needNotice: 'Read the health notice above and press “I understand” before the first start.',
    blocked: 'Motor control is off because of a health answer. Consult a doctor first.',
    noBudget: 'Less than a minute left today for this area — a routine needs at least one. It resets at midnight.',
    otherSession: 'A session is already running in another window. Stop it first.',
    plan: (sec: number, group: string) => `${min(sec)} of motor time on ${group.toLowerCase()}.`,
    budgetLeft: (sec: number) => leftToday(sec, 'this area'),
    emsNeck: 'An EMS pad is connected: it is never used on the neck.',
  },

  guided: {
    stepOf: (i: number, n: number) => `Step ${i} of ${n}`,
    remaining: 'Time left in this step',
    progress: 'Routine progress',
    progressText: (pct: number) => `${pct}% done`,
    next: 'Next',
    lastStep: 'Last step. Then you are done.',
    pause: 'Pause',
    resume: 'Resume',
    stop: 'Stop',
    hurt: 'Stop — it hurts',
    paused: 'Paused. The massager is off.',
    pausedByApp: 'Paused. Unknot has stopped sending to the massager.',
    shortened: (granted: number, planned: number) =>
      `Only ${min(granted)} left today for this area, not ${min(planned)}: every step is shortened to fit.`,
    softer: 'Starting gentler after the last session hurt.',
    motionLabel: 'How to move the massager',
    knot: 'the knot',
    intensity: (pct: number) => `Intensity ${pct}%`,
    keys: 'Space or Escape stops the massager at any time.',
    announceStep: (i: number, n: number, title: string, cue: string) => `Step ${i} of ${n}: ${title}. ${cue}`,
    announceStopped: 'Massager stopped.',
    announcePaused: 'Paused. Massager off.',
    announceResumed: 'Resumed.',
    deviceLost: 'The massager may still be running: switch it off with its own button.',
    reconnected: 'Reconnected. The massager is stopped; press Resume to go on.',
  },

  observer: {
    routineHeading: 'A routine is running in another window',
    manualHeading: 'Manual control is running in another window',
    pausedHeading: 'A session is paused in another window',
    what: (name: string, group: string) => (name === group ? name : `${name} · ${group}`),
    manual: 'Manual control',
    granted: (sec: number) => `Up to ${min(sec)} of motor time.`,
    hint: 'It is guided from the window that started it. Stop works from here.',
    stop: 'Stop it',
    ended: (message: string) => `The session in another window ended. ${message}`,
  },

  breath: {
    label: 'Breathing pace',
    in: 'Breathe in',
    out: 'Breathe out',
    still: 'Breathe slowly: in for 4, out for 6.',
  },

  summary: {
    heading: 'Done',
    stoppedElsewhere: 'Stopped from outside this window: another window, the stop shortcut, or the massager’s own button.',
    stoppedHeading: 'Stopped',
    used: (sec: number) => `Motor time used: ${min(sec)}.`,
    left: (sec: number, group: string) => leftToday(sec, group.toLowerCase()),
    water: 'Drink a big glass of water now.',
    pageClosed: 'The routine was stopped because its page was closed or reloaded. The massager is off.',
    pageClosedManual: 'Manual control was stopped because its page was closed or reloaded. The massager is off.',
    manualEnded: 'Manual control ended.',
    hurt: 'If the pain stays, or comes back often, see a doctor.',
    again: 'Back to routines',
    reasons: {
      completed: 'Routine complete.',
      'user-stop': 'You stopped the routine.',
      hurt: 'Stopped because it hurt. Next time this area starts gentler. If it keeps hurting, stop and rest it.',
      'session-cap': 'The session reached its time limit.',
      'daily-budget': 'The daily limit for this area is used up.',
      watchdog: 'The app lost track of this window, so the massager was stopped.',
      'connection-lost': 'The connection to Unknot was lost, so the massager was stopped.',
      'window-closed': 'The window was closed, so the massager was stopped.',
      'device-lost': 'The massager disconnected.',
      'app-quit': 'Unknot was closed.',
      suspend: 'The computer went to sleep, so the massager was stopped.',
      'stop-unconfirmed': 'The massager did not confirm that it stopped. Switch it off by hand.',
      screening: 'A health answer changed, so the massager was stopped. Talk to a doctor before massaging this way.',
      'above-ceiling': 'The massager started above your ceiling, at a setting it kept from earlier, so it was stopped. Turn it down on the massager itself, then start again.',
      error: 'Something went wrong, so the massager was stopped.',
    } satisfies Record<SessionEndReason, string>,
  },

  device: {
    heading: 'Massager',
    none: 'No massager connected.',
    battery: 'Battery',
    firmware: 'Firmware',
    model: 'Model',
    maker: 'Maker',
    state: 'State',
    running: 'running',
    stopped: 'stopped',
    unknown: '—',
    reported: 'Reported level',
    runStateLabel: (kind?: string) => (kind === 'chair' ? 'The chair says' : 'The device says'),
    runStates: { idle: 'off', resetting: 'returning to rest', ready: 'on, rollers still', running: 'rollers moving' } as Record<'idle' | 'resetting' | 'ready' | 'running', string>,
    chairSpeed: 'Chair’s own speed',
    ofSteps: (level: number, steps?: number) => (steps ? `${level} of ${steps}` : String(level)),
    deviceTimer: 'Chair’s timer',
    timeLeft: (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} left`,
    resetting: 'The chair is returning to rest. Unknot sends it no power command until it has finished.',
    commanded: 'Commanded',
    ceilingNote: (pct: number, step: number, unit: string) => `Ceiling ${pct}%: the app never goes above ${stepText(step, unit)}.`,
    step: stepText,
    manualHeading: 'Manual control',
    manualIntro: 'Set the intensity yourself. The time counts toward the area’s daily limit.',
    manualGroup: 'Area',
    manualStart: 'Start manual control',
    manualEnd: 'End manual control',
    intensity: 'Intensity',
    intensityValue: (pct: number) => `${pct}%`,
    aboveCeiling: (pct: number) => `Above the ceiling: the massager is held at ${pct}%.`,
    ceilingIs: (pct: number) => `Ceiling: ${pct}% (change it in Settings).`,
    mode: 'Mode',
    modesNote: 'Modes follow the routine’s motion.',
    heat: 'Heat',
    heatNeedsSession: 'Heat comes on during a session (a routine or manual control).',
    stop: 'Stop',
    clamped: (req: number, got: number, unit: string) => `Asked for ${stepText(req, unit)}; held at the ceiling, ${stepText(got, unit)}.`,
    experimentalNote: 'Experimental protocol:',
  },

  stop: {
    waiting: 'Stop sent, waiting for the massager to confirm…',
    confirmed: 'Stopped — confirmed by the device.',
    cannotConfirm: 'Stop sent — this massager does not report its state.',
    unconfirmed: 'The massager did not confirm that it stopped.',
    unconfirmedTitle: (kind: string) => `The ${kind} did not confirm that it stopped — switch it off by hand now.`,
    itIsOff: 'It is off',
    itIsOffHint: 'Press this once you have checked that the massager is off. Until then, no session can start on it.',
    confirmedOff: 'Thank you. You can start a session again.',
    spoken: (how: string) => `The massager did not confirm that it stopped. Switch it off by hand now. ${how}`,
    massager: 'massager',
    kindNames: { percussive: 'massage gun', chair: 'massage chair', cushion: 'massage cushion', ems: 'EMS pad' } as Record<string, string>,
    label: 'Last stop',
  },

  screening: {
    heading: 'Health questions',
    intro: 'Massage is not safe for everyone. Answer honestly; you can change answers later in Settings.',
    introHere: 'Massage is not safe for everyone. Answer honestly, and update an answer here if anything changes.',
    yes: 'Yes',
    no: 'No',
    questions: {
      pregnant: 'Are you pregnant?',
      'heart-condition': 'Do you have a heart condition?',
      'high-blood-pressure': 'Do you have high blood pressure?',
      implant: 'Do you have a pacemaker or another implant?',
      epilepsy: 'Do you have epilepsy?',
    } as Record<string, string>,
    blocked: 'Because of a “yes”, motor control is off. Consult a doctor first.',
    ok: 'Thank you. Motor control is on.',
    emsPending: 'Answer the EMS questions before using an EMS pad.',
    incomplete: 'Please answer every question.',
    emsOnly: 'For EMS pads',
  },

  firstRun: {
    heading: 'Welcome to Unknot',
    does: 'What Unknot does',
    doesItems: [
      'Guides you through short routines to loosen a knot in your back.',
      'Sets your massager’s speed for each step.',
    ],
    /** The last "what Unknot does" item: the limits main enforces (seconds). */
    limitsItem: (capSec: number, budgetSec: number) =>
      `Keeps hard limits: gentle intensity, ${wholeMin(capSec)} minutes a session, ${wholeMin(budgetSec)} minutes a day per area.`,
    doesnt: 'What it does not do',
    doesntItems: [
      'It is not a medical device and does not diagnose or treat anything.',
      'It cannot see how hard you press: keep the pressure light.',
    ],
    doctorHeading: 'Before you begin',
    doctor: 'If you have ongoing pain, numbness, or pain after an injury, see a doctor before using a massager.',
    acknowledge: 'I understand',
    acknowledged: 'Noted.',
    banner: 'Before the first routine, read the safety notes and answer a few health questions.',
    bannerEms: 'Before using the EMS pad, answer its two extra health questions.',
    bannerAction: 'Open safety notes',
    continue: 'Continue to devices',
  },

  bodyMap: {
    heading: 'Where is the knot?',
    label: 'Body map, seen from behind',
    markKnot: 'Mark the knot',
    marking: 'Click on the figure where the knot is.',
    cancelMark: 'Cancel',
    marked: 'Knot marked.',
    clearKnot: 'Clear mark',
    zone: (group: string, left: string) => `${group}: ${left}`,
  },

  history: {
    heading: 'History',
    intro: 'Motor minutes per area per day, with the daily limit.',
    chartLabel: (days: number) => `Motor minutes per area over the last ${days} days`,
    budgetLine: 'Daily limit',
    empty: 'No sessions yet.',
    export: 'Export CSV',
    days: 'Days',
    tableCaption: 'The same data as a table',
    date: 'Date',
    minutes: 'min',
    painLegend: '“Stop — it hurts”',
    painColumn: 'It hurt',
    painTitle: (area: string, date: string, n: number) => `${area}, ${date}: stopped because it hurt${n > 1 ? ` (${n} times)` : ''}`,
  },

  settings: {
    heading: 'Settings',
    limits: 'Limits',
    ceiling: (name: string) => `Intensity ceiling for ${name}`,
    ceilingHint: (minPct: number, maxPct: number) => `The highest intensity the app will ever command, ${minPct}–${maxPct}% of the device’s range.`,
    ceilingNoDevice: 'Connect a massager to set its ceiling.',
    sessionCap: 'Session limit',
    sessionCapHint: (minSec: number, maxSec: number) => `${wholeMin(minSec)} to ${wholeMin(maxSec)} minutes.`,
    dailyBudget: 'Daily limit per area',
    dailyBudgetHint: (minSec: number, maxSec: number) => `${wholeMin(minSec)} to ${wholeMin(maxSec)} minutes. It can be lowered, never raised above ${wholeMin(maxSec)}.`,
    appearance: 'Appearance',
    theme: 'Theme',
    themes: { system: 'Same as system', light: 'Light', dark: 'Dark' },
    reducedMotion: 'Reduce motion (static arrows instead of animation)',
    sound: 'Sound at each step',
    sounds: { off: 'Off', chime: 'Chime', 'chime-and-voice': 'Chime and spoken cue' },
    testSound: 'Play the chime',
    shortcut: 'Stop shortcut (works even when Unknot is in the background)',
    noShortcut: {
      taken: 'No global stop shortcut: another application holds the key. Stop with Space or Escape in this window, or from the tray.',
      'no-portal': 'This desktop offers apps no global shortcuts, so there is no stop key outside this window. Stop with Space or Escape here, or from the tray.',
      unconfirmed: 'This desktop could not confirm a global stop shortcut, so none is promised. Stop with Space or Escape in this window, or from the tray.',
    },
    noTray: 'This desktop shows no tray icons, so Unknot has no tray menu here.',
    data: 'Your data',
    dataDir: 'Data folder',
    deleteHeading: 'Delete my data',
    deleteHint: 'Removes settings, answers and history; only today’s massage minutes per area stay until midnight, so the daily limit still holds. Type “delete my data” to confirm.',
    deleteConfirmLabel: 'Confirmation',
    deletePhrase: 'delete my data',
    deleteButton: 'Delete',
    deleted: 'Your data was deleted.',
    saved: 'Saved.',
    seconds: (s: number) => min(s),
  },

  errors: {
    generic: 'That did not work.',
    notConnected: 'No massager is connected.',
  },

  announce: {
    connected: (name: string) => `Connected to ${name}.`,
    disconnected: 'Massager disconnected.',
  },
};

export type Texts = typeof en;
export const t: Texts = en;
