// Playback of one camera: the timeline of what was recorded, HLS VOD from
// any instant (an hour's playlist at a time, with the purpose the API asks
// for, once per camera), play/pause, speed, frame step, and mark in/out to
// export a signed clip. #/playback/<camera>/<instant> (an RFC 3339 time, as
// the alerts inbox links an event) plays from a few seconds before it.

import Hls from 'hls.js/light';
import { severityWords, typeWords } from './alerts';
import { camera, cameraPath, json, post, qs, type Camera, type ExportJob, type Timeline as TimelineJSON } from './api';
import { cameraList } from './cameralist';
import { ask, errorText, fmtTime, h, say } from './dom';
import type { Ctx } from './main';
import { maxSpan, minSpan, Timeline } from './timeline';

// The purpose of each camera's playback in this page's life: asked once.
const reasons = new Map<string, string>();
const windowMs = 3600e3; // each playlist covers an hour from the seek
const frame = 0.04; // a frame step, in seconds (25 fps)

interface Frag { start: number; end: number; pdt: number }

export function mountPlayback(root: HTMLElement, arg: string, _ctx: Ctx): () => void {
  const list = cameraList((c) => { location.hash = '#/playback/' + encodeURIComponent(c.id); },
    'Click a camera to review its recordings.');
  if (!arg) {
    root.append(list, h('section', { class: 'playback-pane' },
      h('h2', {}, 'Playback'), h('p', { class: 'muted' }, 'Choose a camera from the list, the map or a wall tile.')));
    return () => {};
  }
  const [id, atText = ''] = arg.split('/');
  const at = atText ? Date.parse(atText) : NaN;
  const title = h('h2', {}, id);
  const reasonLine = h('span', { class: 'muted' });
  const video = h('video', { muted: true, playsinline: true, class: 'playback-video' });
  video.muted = true;
  const clock = h('output', { class: 'clock', 'aria-label': 'Recorded time' }, '—');
  const status = h('p', { class: 'muted', role: 'status' });
  const playBtn = h('button', { type: 'button', title: 'Play / pause (Space)', 'data-action': 'play' }, 'Play');
  const speed = h('select', { 'aria-label': 'Speed', title: 'Speed' },
    ...[0.25, 0.5, 1, 2, 4, 8, 16].map((s) => h('option', { value: s, selected: s === 1 }, `${s}×`)));
  const inBtn = h('button', { type: 'button', title: 'Mark in at the playhead (I)' }, '[ In');
  const outBtn = h('button', { type: 'button', title: 'Mark out at the playhead (O)' }, 'Out ]');
  const marks = h('span', { class: 'muted marks' });
  const exportBtn = h('button', { type: 'button', disabled: true, title: 'Export the marked range (E)', 'data-action': 'export' }, 'Export…');
  const exportPanel = h('div', { class: 'exports' });

  const end = Number.isNaN(at) ? Date.now() + 60e3 : Math.min(Date.now() + 60e3, at + 7.5 * 60e3);
  const tl = new Timeline(end - 15 * 60e3, end, (t) => seek(t), () => scheduleLoad());
  let hls: Hls | undefined;
  let frags: Frag[] = [];
  let cam: Camera | undefined;
  let loadTimer = 0;
  let pending: number | null = null; // instant to show once the playlist is parsed
  let loaded: { from: number; to: number } | null = null;
  let destroyed = false;

  const zoomTo = (span: number) => {
    const c = tl.playhead ?? Math.min(Date.now(), (tl.from + tl.to) / 2);
    tl.setView(c - span / 2, c + span / 2);
  };
  const zoomButtons = h('span', { class: 'zooms' },
    h('button', { type: 'button', title: 'Zoom out (-)', onclick: () => tl.zoom(2) }, '−'),
    h('button', { type: 'button', title: 'Zoom in (+)', onclick: () => tl.zoom(0.5) }, '+'),
    ...([['30 d', maxSpan], ['7 d', 7 * 86400e3], ['1 d', 86400e3], ['1 h', 3600e3], ['10 min', 600e3], ['1 min', 60e3], ['10 s', minSpan]] as const)
      .map(([label, span]) => h('button', { type: 'button', class: 'secondary', onclick: () => zoomTo(span) }, label)));

  root.append(list, h('section', { class: 'playback-pane' },
    h('div', { class: 'playback-head' }, title, reasonLine),
    video,
    h('div', { class: 'controls' },
      h('button', { type: 'button', title: 'Back one frame (,)', onclick: () => step(-1) }, '‹ Frame'),
      playBtn,
      h('button', { type: 'button', title: 'Forward one frame (.)', onclick: () => step(1) }, 'Frame ›'),
      h('label', { class: 'muted' }, 'Speed ', speed),
      clock, inBtn, outBtn, marks, exportBtn),
    tl.canvas,
    h('div', { class: 'controls' }, zoomButtons,
      h('span', { class: 'muted hint' }, 'Keys: Space play · , . frame · ←/→ 10 s · +/− zoom · I/O mark · E export')),
    status, exportPanel));

  camera(id).then((c) => { cam = c; title.textContent = c.name; title.title = c.id; })
    .catch((e) => { status.textContent = errorText(e); });

  // Timeline data, refreshed when the view moves and every 10 s.
  async function loadTimeline() {
    const from = Math.max(tl.from, tl.to - 31 * 86400e3 + 1000);
    try {
      const t = await json<TimelineJSON>(cameraPath(id) + '/timeline?' + qs({
        from: new Date(from).toISOString(), to: new Date(tl.to).toISOString(),
      }));
      if (destroyed) return;
      tl.data = {
        ranges: t.ranges.map((r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) })),
        // An acknowledgement is about another event, not the scene.
        markers: (t.events ?? []).filter((e) => e.type !== 'alert.acknowledged').map((e) => {
          const et = Date.parse(e.time);
          return { t: et, severity: e.severity, label: `${severityWords[e.severity] ?? e.severity}: ${typeWords(e.type)} · ${fmtTime(et)}` };
        }).sort((a, b) => a.t - b.t),
      };
      tl.canvas.dataset.ranges = String(t.ranges.length);
      if (!t.ranges.length && !hls) status.textContent = 'Nothing recorded in this window. Zoom out or move the timeline.';
      else if (!hls) status.textContent = 'Click the timeline to play from that instant.';
      tl.draw();
    } catch (e) {
      status.textContent = errorText(e);
    }
  }
  function scheduleLoad() {
    clearTimeout(loadTimer);
    loadTimer = window.setTimeout(loadTimeline, 150);
  }
  loadTimeline();
  const refresh = window.setInterval(loadTimeline, 10000);

  async function reason(): Promise<string | null> {
    const known = reasons.get(id);
    if (known) return known;
    const r = await ask('Purpose of this playback', 'Case or incident number, or why you review this camera',
      { hint: 'Playback is recorded in the audit log with the purpose you give.', ok: 'Play' });
    if (r) {
      reasons.set(id, r);
      reasonLine.textContent = 'Purpose: ' + r;
    }
    return r;
  }
  if (reasons.has(id)) reasonLine.textContent = 'Purpose: ' + reasons.get(id);

  // Wall-clock instants and the media clock of the loaded playlist.
  function toMedia(t: number): number | null {
    for (const f of frags) {
      if (t < f.pdt) return f.start; // in a gap: the next recorded instant
      if (t < f.pdt + (f.end - f.start) * 1000) return f.start + (t - f.pdt) / 1000;
    }
    return null;
  }
  function toWall(m: number): number | null {
    for (const f of frags) if (m >= f.start && m < f.end) return f.pdt + (m - f.start) * 1000;
    const last = frags[frags.length - 1];
    return last ? last.pdt + (last.end - last.start) * 1000 : null;
  }

  async function seek(t: number) {
    const r = await reason();
    if (!r || destroyed) return;
    tl.playhead = t;
    tl.draw();
    if (hls && loaded && t >= loaded.from && t < loaded.to) {
      const m = toMedia(t);
      if (m !== null) {
        video.currentTime = m;
        video.play().catch(() => {});
        return;
      }
    }
    load(t, r);
  }

  function load(t: number, r: string) {
    hls?.destroy();
    frags = [];
    pending = t;
    const to = t + windowMs;
    loaded = { from: t, to };
    status.textContent = 'Loading ' + fmtTime(t) + '…';
    if (!Hls.isSupported()) {
      status.textContent = 'This browser cannot play recorded video (no Media Source Extensions).';
      return;
    }
    const player = new Hls({ maxBufferLength: 30, autoStartLoad: false });
    hls = player;
    player.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
      frags = data.details.fragments.map((f) => ({ start: f.start, end: f.start + f.duration, pdt: f.programDateTime ?? 0 }));
      if (pending !== null && frags.length) {
        loaded = { from: Math.min(frags[0].pdt, pending), to: toWall(frags[frags.length - 1].end - 0.001) ?? to };
        const m = toMedia(pending) ?? frags[0].start;
        pending = null;
        video.currentTime = m;
        player.startLoad(m);
      } else if (pending !== null) {
        pending = null;
        player.startLoad(0);
      }
      video.play().catch(() => {});
      status.textContent = '';
    });
    player.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      const code = (data.response as { code?: number } | undefined)?.code;
      status.textContent = code === 404 ? 'Nothing recorded from this instant on. Pick a green stretch of the timeline.'
        : code === 403 ? 'You may not play back this camera.'
        : code === 401 ? 'Your session has ended. Sign in again.'
        : 'Playback failed: ' + (data.details || 'unknown error') + '.';
      player.destroy();
      if (hls === player) hls = undefined;
    });
    player.loadSource(cameraPath(id) + '/playback/index.m3u8?' + qs({
      from: new Date(t).toISOString(), to: new Date(to).toISOString(), reason: r,
    }));
    player.attachMedia(video);
  }

  // At the end of a playlist, go on from where it ended (the recording may
  // have grown, or the next hour begins).
  video.addEventListener('ended', () => {
    const w = toWall(video.currentTime);
    if (w !== null && w < Date.now() - 2000) seek(w + 1);
  });
  video.addEventListener('timeupdate', () => {
    const w = toWall(video.currentTime);
    if (w === null) return;
    tl.playhead = w;
    video.dataset.wall = String(Math.round(w));
    clock.textContent = fmtTime(w);
    if (w > tl.to || w < tl.from) {
      const span = tl.to - tl.from;
      tl.setView(w - span * 0.2, w + span * 0.8);
    }
    tl.draw();
  });
  const playState = () => { playBtn.textContent = video.paused ? 'Play' : 'Pause'; };
  video.addEventListener('play', playState);
  video.addEventListener('pause', playState);
  speed.addEventListener('change', () => { video.playbackRate = Number(speed.value); });
  video.addEventListener('loadedmetadata', () => { video.playbackRate = Number(speed.value); });

  function togglePlay() {
    if (!hls) {
      const last = tl.data.ranges[tl.data.ranges.length - 1];
      if (last) seek(Math.max(last.from, last.to - 60e3));
      else status.textContent = 'Nothing recorded in this window to play.';
      return;
    }
    if (video.paused) video.play().catch(() => {});
    else video.pause();
  }
  function step(dir: number) {
    if (!hls) return;
    video.pause();
    video.currentTime = Math.max(0, video.currentTime + dir * frame);
  }
  playBtn.addEventListener('click', togglePlay);

  function showMarks() {
    const a = tl.markIn;
    const b = tl.markOut;
    marks.textContent = (a !== null ? 'in ' + fmtTime(a) : '') + (b !== null ? ' · out ' + fmtTime(b) : '');
    exportBtn.disabled = !(a !== null && b !== null && b > a);
    tl.draw();
  }
  function mark(which: 'in' | 'out') {
    const t = tl.playhead;
    if (t === null) { say('Play or click the timeline first: the mark goes at the playhead.', 'info'); return; }
    if (which === 'in') tl.markIn = t; else tl.markOut = t;
    showMarks();
  }
  inBtn.addEventListener('click', () => mark('in'));
  outBtn.addEventListener('click', () => mark('out'));
  exportBtn.addEventListener('click', () => startExport());

  async function startExport() {
    const a = tl.markIn;
    const b = tl.markOut;
    if (a === null || b === null || b <= a) return;
    if (b - a > 86400e3) { say('An export covers at most 24 hours. Move the marks closer.'); return; }
    const r = await ask('Export evidence', 'Reason (case or incident number)', {
      value: reasons.get(id) ?? '',
      hint: `${cam?.name ?? id}, ${fmtTime(a)} to ${fmtTime(b)}. An evidence hold is placed on this range; the export is signed and audited.`,
      ok: 'Export',
    });
    if (!r || destroyed) return;
    try {
      const job = await post<ExportJob>('/api/v1/exports', {
        camera_ids: [id], from: new Date(a).toISOString(), to: new Date(b).toISOString(), reason: r,
      });
      trackExport(job);
    } catch (e) {
      say(errorText(e));
    }
  }

  function trackExport(job: ExportJob) {
    const bar = h('progress', { max: 1, value: 0 });
    const text = h('span', {}, 'queued');
    const row = h('div', { class: 'export', 'data-export': job.id, 'data-state': job.state },
      h('strong', {}, 'Export ' + job.id), bar, text);
    exportPanel.prepend(row);
    const poll = async () => {
      if (destroyed) return;
      try {
        job = await json<ExportJob>('/api/v1/exports/' + encodeURIComponent(job.id));
      } catch (e) {
        text.textContent = errorText(e);
        return;
      }
      row.dataset.state = job.state;
      bar.value = job.progress;
      if (job.state === 'done') {
        bar.value = 1;
        text.replaceChildren('done · ', h('a', {
          href: '/api/v1/exports/' + encodeURIComponent(job.id) + '/bundle', download: job.id + '.zip', class: 'download',
        }, 'Download the signed bundle (zip)'));
        return;
      }
      if (job.state === 'failed') {
        text.textContent = 'failed: ' + (job.error || 'unknown error');
        return;
      }
      text.textContent = `${job.state} · ${Math.round(job.progress * 100)} %`;
      setTimeout(poll, 500);
    };
    poll();
  }

  const onKey = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest('input, textarea, select, dialog') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    switch (ev.key) {
      case ' ': togglePlay(); break;
      case ',': step(-1); break;
      case '.': step(1); break;
      case 'ArrowLeft': if (tl.playhead !== null) seek(tl.playhead - 10e3); break;
      case 'ArrowRight': if (tl.playhead !== null) seek(tl.playhead + 10e3); break;
      case '+': case '=': tl.zoom(0.5, tl.playhead ?? undefined); break;
      case '-': tl.zoom(2, tl.playhead ?? undefined); break;
      case 'i': case 'I': mark('in'); break;
      case 'o': case 'O': mark('out'); break;
      case 'e': case 'E': startExport(); break;
      default: return;
    }
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  if (!Number.isNaN(at)) seek(at - 5e3);

  return () => {
    destroyed = true;
    document.removeEventListener('keydown', onKey);
    clearInterval(refresh);
    clearTimeout(loadTimer);
    hls?.destroy();
    tl.destroy();
  };
}
