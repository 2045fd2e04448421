// The alerts inbox. One Server-Sent Events stream per signed-in page
// (GET /api/v1/events/stream) feeds the bell in the top bar (the count of
// unacknowledged warning and critical events, with a panel of the latest)
// and the #/alerts view: the events newest first, filters, acknowledge with
// a note, older pages, and new events inserted above without moving what
// the operator reads.

import { api, camera, json, post, qs, searchCameras, type AlertEvent, type Camera, type Page, type Severity } from './api';
import { errorText, fmtTime, h, say } from './dom';
import type { Ctx } from './main';

const severityRank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** severityWords names a severity: colour is never its only sign. */
export const severityWords: Record<Severity, string> = { info: 'Info', warning: 'Warning', critical: 'Critical' };

const typeNames: Record<string, string> = {
  'camera.online': 'Camera back online',
  'camera.offline': 'Camera offline',
  'camera.stalled': 'Camera stalled (no video)',
  'camera.unauthorised': 'Camera refused the credentials',
  'camera.unsupported': 'Camera codec not supported',
  'camera.tamper': 'Camera tampered with',
  'storage.pressure': 'Storage running out',
  'emergency.opened': 'Emergency access opened',
  'alert.acknowledged': 'Alert acknowledged',
  fire: 'Fire',
  smoke: 'Smoke',
  'crowd.density': 'Crowd density',
};

/** typeWords says an event type in words ("camera.offline": "Camera offline"). */
export function typeWords(type: string): string {
  const known = typeNames[type];
  if (known) return known;
  const s = type.replace(/[._]+/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** ago says how long before now an instant was ("3 min ago"). */
export function ago(t: number, now = Date.now()): string {
  const s = (now - t) / 1000;
  if (s < 45) return 'just now';
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

const urgent = (e: AlertEvent) => (severityRank[e.severity] ?? 0) >= severityRank.warning;

// later reports whether decimal id a comes after b in the stream.
const later = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);

// ackedID is the event an alert.acknowledged event acknowledged, or ''.
const ackedID = (e: AlertEvent) => (e.type === 'alert.acknowledged' ? String(e.data?.event ?? '') : '');

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** playbackHash is the address of a camera's playback at an instant. */
export const playbackHash = (cameraID: string, time: string) =>
  '#/playback/' + encodeURIComponent(cameraID) + '/' + time;

// Camera names by id, asked once per page (a deleted camera keeps its id).
const names = new Map<string, Promise<string>>();
function cameraName(id: string): Promise<string> {
  let p = names.get(id);
  if (!p) {
    p = camera(id).then((c) => c.name || id, () => id);
    names.set(id, p);
  }
  return p;
}

// cameraLink links an event's camera to its playback at the event's
// instant, named once the camera is known; node-wide events have none.
function cameraLink(e: AlertEvent): HTMLElement {
  if (!e.camera_id) return h('span', { class: 'muted' }, 'Node-wide');
  const a = h('a', { href: playbackHash(e.camera_id, e.time), class: 'camera', 'data-camera': e.camera_id,
    title: 'Play back this camera at ' + fmtTime(Date.parse(e.time)) }, e.camera_id);
  cameraName(e.camera_id).then((n) => { a.textContent = n; });
  return a;
}

function when(e: AlertEvent): HTMLElement {
  const t = Date.parse(e.time);
  return h('time', { datetime: e.time, class: 'when' },
    h('span', { class: 'ago', 'data-t': t }, ago(t)), h('small', {}, fmtTime(t)));
}

function sevLabel(s: Severity): HTMLElement {
  return h('span', { class: 'sev' }, severityWords[s] ?? s);
}

type Listener = (e: AlertEvent) => void;

/**
 * Feed is the page's one event stream. EventSource reconnects by itself,
 * sending Last-Event-ID; when the server refuses the stream (an error
 * status) the feed checks the session and opens it again later, from the
 * last event received.
 */
class Feed {
  live = false;
  private es: EventSource | null = null;
  private last = '';
  private wait = 0;
  private timer = 0;
  private stopped = false;
  private readonly listeners = new Set<Listener>();
  private readonly states = new Set<(live: boolean) => void>();

  constructor() {
    this.open();
  }

  /** on calls f with every event; the returned function stops it. */
  on(f: Listener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** onState calls f when the stream opens or drops. */
  onState(f: (live: boolean) => void): () => void {
    this.states.add(f);
    return () => this.states.delete(f);
  }

  /** emit hands an event (one changed here, such as acknowledged) to every listener. */
  emit(e: AlertEvent): void {
    for (const f of this.listeners) f(e);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.es?.close();
    this.listeners.clear();
    this.states.clear();
  }

  private open(): void {
    const es = new EventSource('/api/v1/events/stream' + (this.last ? '?' + qs({ last_event_id: this.last }) : ''));
    this.es = es;
    es.addEventListener('open', () => { this.wait = 0; this.setLive(true); });
    es.addEventListener('event', (m) => {
      const msg = m as MessageEvent<string>;
      let e: AlertEvent;
      try {
        e = JSON.parse(msg.data) as AlertEvent;
      } catch {
        return;
      }
      if (this.last && !later(e.id, this.last)) return; // replayed twice
      this.last = e.id;
      this.emit(e);
    });
    es.addEventListener('error', () => {
      this.setLive(false);
      if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects
      es.close();
      this.wait = Math.min(30e3, Math.max(1000, this.wait * 2));
      this.timer = window.setTimeout(() => this.reopen(), this.wait);
    });
  }

  private async reopen(): Promise<void> {
    try {
      await api('/api/v1/me');
    } catch (e) {
      if ((e as { status?: number }).status === 401) return; // signed out: the page shows the sign-in
    }
    if (!this.stopped) this.open();
  }

  private setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    for (const f of this.states) f(live);
  }
}

let feed: Feed | null = null;

const pausedText = 'Live updates paused, reconnecting…';

// The most unacknowledged events the bell keeps in memory.
const maxUnacked = 2000;

/**
 * startAlerts opens the page's event stream, puts the bell and its panel in
 * the top bar after anchor, and listens for the key A (open the inbox). It
 * returns the function that undoes all of it (at sign-out).
 */
export function startAlerts(anchor: HTMLElement): () => void {
  const f = new Feed();
  feed = f;
  const unacked = new Map<string, AlertEvent>(); // warning and critical, not acknowledged
  const acked = new Set<string>(); // acknowledged while the count loads
  let more = false; // the count covers the newest 500 only

  const count = h('span', { class: 'count' }, '0');
  const bell = h('button', { id: 'bell', type: 'button', popovertarget: 'alerts-panel', 'data-count': 0 }, bellIcon(), count);
  const panel = h('div', { id: 'alerts-panel', popover: 'auto', role: 'dialog', 'aria-label': 'Unacknowledged alerts' });
  anchor.after(bell, panel);

  const showCount = () => {
    const n = unacked.size;
    count.textContent = String(n) + (more ? '+' : '');
    bell.dataset.count = String(n);
    const words = n === 0 ? 'no unacknowledged warnings' : `${n}${more ? ' or more' : ''} unacknowledged warning or critical event${n === 1 ? '' : 's'}`;
    bell.setAttribute('aria-label', 'Alerts: ' + words + (f.live ? '' : '. ' + pausedText));
    bell.title = 'Alerts: ' + words + ' (A opens the inbox)';
    if (panel.matches(':popover-open')) fillPanel();
  };

  const fillPanel = () => {
    const latest = [...unacked.values()].sort((a, b) => (later(a.id, b.id) ? -1 : 1)).slice(0, 10);
    panel.replaceChildren(
      h('h2', {}, 'Unacknowledged alerts'),
      h('p', { class: 'paused', hidden: f.live }, pausedText),
      latest.length ? h('ul', {}, ...latest.map((e) => h('li', { class: 'sev-' + e.severity, 'data-id': e.id },
        sevLabel(e.severity), ' ', h('strong', {}, typeWords(e.type)), ' ', cameraLink(e), ' ',
        h('span', { class: 'muted' }, ago(Date.parse(e.time))))))
        : h('p', { class: 'muted' }, 'No unacknowledged warnings.'),
      h('a', { href: '#/alerts', class: 'button secondary' }, 'Open the inbox (A)'));
  };
  panel.addEventListener('toggle', (ev) => { if ((ev as ToggleEvent).newState === 'open') fillPanel(); });
  panel.addEventListener('click', (ev) => { if ((ev.target as HTMLElement).closest('a')) panel.hidePopover(); });

  const flash = () => {
    bell.classList.remove('flash');
    void bell.offsetWidth; // restart the animation
    bell.classList.add('flash');
  };
  bell.addEventListener('animationend', () => bell.classList.remove('flash'));

  f.on((e) => {
    const done = ackedID(e) || (e.acknowledged_at ? e.id : '');
    if (done) {
      acked.add(done);
      if (unacked.delete(done)) showCount();
      return;
    }
    // A copy sent before its acknowledgement may arrive after it.
    if (!urgent(e) || unacked.has(e.id) || acked.has(e.id)) return;
    unacked.set(e.id, e);
    if (unacked.size > maxUnacked) { // a storm: keep the newest, say "+"
      unacked.delete(unacked.keys().next().value!);
      more = true;
    }
    showCount();
    flash();
  });
  f.onState(() => showCount());

  // The count: the newest 500 warning and critical events, merged with what
  // the stream brought meanwhile.
  (async () => {
    try {
      const page = await json<Page<AlertEvent>>('/api/v1/events?' + qs({ severity: 'warning', limit: 500 }));
      for (const e of page.items) if (!e.acknowledged_at && !acked.has(e.id)) unacked.set(e.id, e);
      more = !!page.next;
      showCount();
    } catch {
      // the bell stays at what the stream brings
    }
  })();
  showCount();

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key !== 'a' && ev.key !== 'A') return;
    if (ignoreKey(ev)) return;
    ev.preventDefault();
    location.hash = '#/alerts';
  };
  document.addEventListener('keydown', onKey);

  return () => {
    document.removeEventListener('keydown', onKey);
    f.close();
    if (feed === f) feed = null;
    bell.remove();
    panel.remove();
  };
}

// ignoreKey reports whether a key press belongs to a field or a dialog.
function ignoreKey(ev: KeyboardEvent): boolean {
  return ev.ctrlKey || ev.metaKey || ev.altKey || !!(ev.target as HTMLElement).closest('input, textarea, select, dialog, [popover]');
}

function bellIcon(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M12 2a6 6 0 0 0-6 6v4.2l-1.7 3.4A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.4L18 12.2V8a6 6 0 0 0-6-6zm-2.6 16.5a2.6 2.6 0 0 0 5.2 0z');
  svg.append(path);
  return svg;
}

interface Filter {
  severity: Severity;
  type: string; // exact, or a prefix ending in *
  camera: string;
}

function matches(e: AlertEvent, f: Filter): boolean {
  if ((severityRank[e.severity] ?? 0) < severityRank[f.severity]) return false;
  if (f.type && (f.type.endsWith('*') ? !e.type.startsWith(f.type.slice(0, -1)) : e.type !== f.type)) return false;
  return !f.camera || e.camera_id === f.camera;
}

const typeOptions: [string, string][] = [
  ['', 'All types'], ['camera.*', 'Camera (any)'], ['camera.offline', typeWords('camera.offline')],
  ['camera.stalled', typeWords('camera.stalled')], ['camera.unauthorised', typeWords('camera.unauthorised')],
  ['camera.unsupported', typeWords('camera.unsupported')], ['camera.online', typeWords('camera.online')],
  ['storage.pressure', typeWords('storage.pressure')], ['emergency.opened', typeWords('emergency.opened')],
  ['alert.acknowledged', typeWords('alert.acknowledged')],
];

interface Row { e: AlertEvent; li: HTMLLIElement }

/** mountAlerts shows the inbox (#/alerts). */
export function mountAlerts(root: HTMLElement, _arg: string, _ctx: Ctx): () => void {
  const filter: Filter = { severity: 'warning', type: '', camera: '' };
  const sevSelect = h('select', { 'aria-label': 'Severity', name: 'severity' },
    h('option', { value: 'info' }, 'All severities'),
    h('option', { value: 'warning', selected: true }, 'Warning and critical'),
    h('option', { value: 'critical' }, 'Critical only'));
  const typeSelect = h('select', { 'aria-label': 'Type', name: 'type' }, ...typeOptions.map(([v, l]) => h('option', { value: v }, l)));
  const camInput = h('input', { type: 'search', name: 'camera', list: 'alert-cameras', placeholder: 'Camera (name or id)', 'aria-label': 'Camera' });
  const camList = h('datalist', { id: 'alert-cameras' });
  const liveState = h('p', { class: 'live-state', role: 'status' });
  const list = h('ol', { class: 'alerts-list', 'aria-label': 'Events, newest first' });
  const status = h('p', { class: 'muted', role: 'status' });
  const olderBtn = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-action': 'older' }, 'Load older');
  const scroller = h('div', { class: 'alerts-scroll' }, list, status, olderBtn);
  root.append(h('div', { class: 'alerts-head' },
    h('h2', {}, 'Alerts'), sevSelect, typeSelect, camInput, camList, liveState,
    h('span', { class: 'muted hint' }, 'Keys: J/K select · Enter open the camera · X acknowledge · A this inbox')),
  scroller);

  const rows = new Map<string, Row>();
  const notes = new Map<string, string>(); // acknowledgement notes seen in this page's life
  let selected: Row | null = null;
  let next = '';
  let seq = 0;
  let destroyed = false;

  function fill(r: Row): void {
    const e = r.e;
    r.li.className = 'alert sev-' + e.severity + (e.acknowledged_at ? ' acked' : '') + (r === selected ? ' selected' : '');
    r.li.dataset.severity = e.severity;
    r.li.dataset.type = e.type;
    r.li.dataset.acknowledged = String(!!e.acknowledged_at);
    r.li.replaceChildren(
      sevLabel(e.severity),
      h('div', { class: 'what' }, h('strong', {}, typeWords(e.type)), ' · ', cameraLink(e),
        e.message ? h('div', { class: 'msg' }, e.message) : null),
      when(e),
      ackCell(r));
  }

  function ackCell(r: Row): HTMLElement {
    const e = r.e;
    if (e.acknowledged_at) {
      const note = e.acknowledged_note || notes.get(e.id);
      return h('div', { class: 'ack-by' }, 'Acknowledged by ', h('strong', {}, e.acknowledged_by || 'another user'),
        ' · ', fmtTime(Date.parse(e.acknowledged_at)), note ? h('div', { class: 'note' }, '“' + note + '”') : null);
    }
    if (e.type === 'alert.acknowledged') return h('div', {});
    return h('div', { class: 'ack-by' },
      h('button', { type: 'button', class: 'secondary small', 'data-action': 'ack', onclick: () => openAck(r) }, 'Acknowledge…'));
  }

  function openAck(r: Row): void {
    if (r.e.acknowledged_at) return;
    select(r, false);
    const note = h('input', { name: 'note', placeholder: 'Note (optional)', maxlength: 1000, 'aria-label': 'Note' });
    const ok = h('button', { type: 'submit', class: 'small' }, 'Acknowledge');
    const form = h('form', { class: 'ack-form' }, note, ok,
      h('button', { type: 'button', class: 'secondary small', onclick: () => fill(r) }, 'Cancel'));
    note.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); fill(r); r.li.focus(); } });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      ok.disabled = true;
      const text = note.value.trim();
      try {
        const got = await post<AlertEvent>('/api/v1/events/' + encodeURIComponent(r.e.id) + '/ack', { note: text });
        if (text) notes.set(got.id, text);
        feed?.emit(got);
        if (!feed) update(got);
        r.li.focus();
      } catch (e) {
        ok.disabled = false;
        if ((e as { status?: number }).status === 409) {
          say('Someone else acknowledged this event first.', 'info');
          const fresh = await one(r.e.id);
          if (fresh) update(fresh);
          return;
        }
        say(errorText(e));
      }
    });
    r.li.lastElementChild!.replaceWith(form);
    note.focus();
  }

  // one reads a single event again: the page just before the next id.
  async function one(id: string): Promise<AlertEvent | null> {
    try {
      const page = await json<Page<AlertEvent>>('/api/v1/events?' + qs({ before: String(BigInt(id) + 1n), limit: 1, severity: 'info' }));
      return page.items[0]?.id === id ? page.items[0] : null;
    } catch {
      return null;
    }
  }

  function newRow(e: AlertEvent): Row {
    const r: Row = { e, li: h('li', { tabindex: -1, 'data-id': e.id }) };
    rows.set(e.id, r);
    fill(r);
    return r;
  }

  function update(e: AlertEvent): void {
    const r = rows.get(e.id);
    if (!r) return;
    r.e = e;
    if (!r.li.querySelector('form.ack-form') || e.acknowledged_at) fill(r);
  }

  function select(r: Row | null, focus = true): void {
    if (selected) {
      selected.li.classList.remove('selected');
      selected.li.removeAttribute('aria-current');
    }
    selected = r;
    if (!r) return;
    r.li.classList.add('selected');
    r.li.setAttribute('aria-current', 'true');
    if (focus) {
      r.li.focus({ preventScroll: true });
      r.li.scrollIntoView({ block: 'nearest' });
    }
  }

  function move(d: number): void {
    const items = [...list.children] as HTMLLIElement[];
    if (!items.length) return;
    const i = selected ? items.indexOf(selected.li) : -1;
    const j = i < 0 ? 0 : Math.min(items.length - 1, Math.max(0, i + d));
    select(rows.get(items[j].dataset.id!) ?? null);
  }

  async function load(older: boolean): Promise<void> {
    const n = ++seq;
    status.textContent = older ? 'Loading older events…' : 'Loading…';
    try {
      const page = await json<Page<AlertEvent>>('/api/v1/events?' + qs({
        severity: filter.severity, type: filter.type, camera: filter.camera, limit: 50, before: older ? next : undefined,
      }));
      if (n !== seq || destroyed) return;
      if (!older) {
        rows.clear();
        selected = null;
        list.replaceChildren();
        scroller.scrollTop = 0;
      }
      for (const e of page.items) if (!rows.has(e.id)) list.append(newRow(e).li);
      next = page.next ?? '';
      olderBtn.hidden = !next;
      status.textContent = rows.size ? '' : 'No events match these filters.';
    } catch (e) {
      if (n === seq) status.textContent = errorText(e);
    }
  }

  // A new event goes on top; when the operator has scrolled down, the list
  // moves by its height so that what they read stays where it is.
  const offFeed = feed?.on((e) => {
    if (destroyed) return;
    const done = ackedID(e);
    const target = done ? rows.get(done) : undefined;
    if (target && !target.e.acknowledged_at) {
      const note = str(e.data?.note);
      if (note) notes.set(done, note);
      update({ ...target.e, acknowledged_at: e.time, acknowledged_by: str(e.data?.user) });
    }
    if (rows.has(e.id)) { update(e); return; }
    if (!matches(e, filter)) return;
    const top = scroller.scrollTop;
    const before = scroller.scrollHeight;
    const r = newRow(e);
    r.li.classList.add('new');
    list.prepend(r.li);
    if (top > 0) scroller.scrollTop = top + (scroller.scrollHeight - before);
    status.textContent = '';
  });
  const showLive = (live: boolean) => {
    liveState.textContent = live ? 'Live' : pausedText;
    liveState.classList.toggle('paused', !live);
  };
  const offState = feed?.onState(showLive);
  showLive(feed?.live ?? false);

  list.addEventListener('click', (ev) => {
    const li = (ev.target as HTMLElement).closest('li');
    if (li) select(rows.get(li.dataset.id!) ?? null, false);
  });
  list.addEventListener('animationend', (ev) => (ev.target as HTMLElement).classList.remove('new'));
  olderBtn.addEventListener('click', () => load(true));
  sevSelect.addEventListener('change', () => { filter.severity = sevSelect.value as Severity; load(false); });
  typeSelect.addEventListener('change', () => { filter.type = typeSelect.value; load(false); });

  let found: Camera[] = [];
  let searchTimer = 0;
  camInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const q = camInput.value.trim();
    if (q.length < 3) return;
    searchTimer = window.setTimeout(async () => {
      try {
        found = await searchCameras(q, 20);
        camList.replaceChildren(...found.map((c) => h('option', { value: c.id }, c.name)));
      } catch {
        // suggestions only
      }
    }, 250);
  });
  camInput.addEventListener('change', () => {
    const v = camInput.value.trim();
    const c = found.find((c) => c.id === v) ?? found.find((c) => c.name.toLowerCase() === v.toLowerCase());
    filter.camera = c?.id ?? v;
    load(false);
  });

  const onKey = (ev: KeyboardEvent) => {
    if (ignoreKey(ev)) return;
    const target = ev.target as HTMLElement;
    switch (ev.key) {
      case 'j': case 'J': move(1); break;
      case 'k': case 'K': move(-1); break;
      case 'Enter': {
        if (target.closest('a, button') || !selected?.e.camera_id) return;
        location.hash = playbackHash(selected.e.camera_id, selected.e.time);
        break;
      }
      case 'x': case 'X': if (selected) openAck(selected); break;
      default: return;
    }
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);

  const tick = window.setInterval(() => {
    const now = Date.now();
    for (const el of list.querySelectorAll<HTMLElement>('.ago')) el.textContent = ago(Number(el.dataset.t), now);
  }, 30e3);

  load(false);

  return () => {
    destroyed = true;
    offFeed?.();
    offState?.();
    clearInterval(tick);
    clearTimeout(searchTimer);
    document.removeEventListener('keydown', onKey);
  };
}
