// Synchronised playback of the whole wall: one timeline (the union of what
// the wall's cameras recorded), one purpose asked once, and each tile's
// camera played from the same instant over HLS VOD. The first tile playing
// leads; every 250 ms the others are moved back in step when their recorded
// time drifts more than 0.5 s from the leader's. Play/pause and speed are
// the wall's, applied to every tile.

import Hls from 'hls.js/light';
import { cameraPath, json, qs, type Timeline as TimelineJSON } from './api';
import { ask, errorText, fmtTime, h } from './dom';
import { maxSpan, Timeline } from './timeline';

const windowMs = 3600e3; // each playlist covers an hour from its start
const maxDrift = 0.5; // seconds a follower may be off the leader
const reloadMs = 5000; // a tile's playlist is asked again at most this often

/** VodStatus is what a tile shows in wall playback. */
export interface VodStatus {
  state: 'idle' | 'loading' | 'playing' | 'paused' | 'gap' | 'error';
  message?: string;
}

interface Frag { start: number; end: number; pdt: number }

// VodPlayer plays one camera's recordings into a tile's video, an hour's
// playlist at a time, and maps its media clock to the wall clock.
class VodPlayer {
  private hls?: Hls;
  private frags: Frag[] = [];
  private from = 0;
  private to = 0;
  private loadedAt = -Infinity;
  failed = false;
  gap = false;

  constructor(readonly cameraId: string, readonly video: HTMLVideoElement, private onStatus: (s: VodStatus) => void) {
    video.addEventListener('timeupdate', () => {
      const w = this.wallTime();
      if (w !== null) video.dataset.wall = String(Math.round(w));
    });
    video.addEventListener('playing', () => this.onStatus({ state: 'playing' }));
    video.addEventListener('waiting', () => this.onStatus({ state: 'loading' }));
    video.addEventListener('pause', () => { if (!this.gap && !this.failed) this.onStatus({ state: 'paused' }); });
  }

  /** ready is true once the playlist is parsed and its picture can move. */
  ready(): boolean {
    return !!this.hls && this.frags.length > 0 && !this.failed;
  }

  /** mayReload is true when the last load is old enough to ask again. */
  mayReload(): boolean {
    return performance.now() - this.loadedAt > reloadMs;
  }

  load(t: number, reason: string, play: boolean): void {
    this.hls?.destroy();
    this.frags = [];
    this.failed = false;
    this.setGap(false);
    this.from = t;
    this.to = t + windowMs;
    this.loadedAt = performance.now();
    this.onStatus({ state: 'loading' });
    if (!Hls.isSupported()) {
      this.fail('This browser cannot play recorded video (no Media Source Extensions).');
      return;
    }
    const hls = new Hls({ maxBufferLength: 30, autoStartLoad: false });
    this.hls = hls;
    hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
      this.frags = data.details.fragments.map((f) => ({ start: f.start, end: f.start + f.duration, pdt: f.programDateTime ?? 0 }));
      const m = this.locate(t);
      const start = typeof m === 'number' ? m : this.frags[0]?.start ?? 0;
      this.video.currentTime = start;
      hls.startLoad(start);
      if (play) this.video.play().catch(() => {});
    });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      const code = (data.response as { code?: number } | undefined)?.code;
      hls.destroy();
      if (this.hls === hls) this.hls = undefined;
      this.fail(code === 404 ? 'Nothing recorded from this instant on.'
        : code === 403 ? 'You may not play back this camera.'
        : code === 401 ? 'Your session has ended. Sign in again.'
        : 'Playback failed: ' + (data.details || 'unknown error') + '.');
    });
    hls.loadSource(cameraPath(this.cameraId) + '/playback/index.m3u8?' + qs({
      from: new Date(t).toISOString(), to: new Date(this.to).toISOString(), reason,
    }));
    hls.attachMedia(this.video);
  }

  private fail(message: string): void {
    this.failed = true;
    this.onStatus({ state: 'error', message });
  }

  setGap(gap: boolean): void {
    if (gap === this.gap) return;
    this.gap = gap;
    if (gap) {
      this.video.pause();
      this.onStatus({ state: 'gap', message: 'Not recorded at this time.' });
    }
  }

  /** wallTime is the recorded instant shown, or null before the playlist is parsed. */
  wallTime(): number | null {
    const m = this.video.currentTime;
    for (const f of this.frags) if (m >= f.start && m < f.end) return f.pdt + (m - f.start) * 1000;
    const last = this.frags[this.frags.length - 1];
    return last ? last.pdt + (last.end - last.start) * 1000 : null;
  }

  /**
   * locate is the media time of wall instant w, 'gap' when the camera
   * recorded nothing then, or 'outside' when the loaded playlist does not
   * cover w (a new one is needed).
   */
  locate(w: number): number | 'gap' | 'outside' {
    if (!this.frags.length || w < this.from) return 'outside';
    for (const f of this.frags) {
      if (w < f.pdt) return 'gap';
      if (w < f.pdt + (f.end - f.start) * 1000) return f.start + (w - f.pdt) / 1000;
    }
    // After the last part: the next hour, or what was recorded since the playlist was asked for.
    return w >= this.to || w < Date.now() - 2000 ? 'outside' : 'gap';
  }

  destroy(): void {
    this.hls?.destroy();
    this.hls = undefined;
    this.video.removeAttribute('src');
    this.video.load();
  }
}

/**
 * WallPlayback is the wall's playback bar (controls and timeline, el) and
 * the tiles' players, attached and detached by tile index as the wall
 * changes. It asks the purpose once, at the first instant chosen.
 */
export class WallPlayback {
  readonly el: HTMLElement;
  private players = new Map<number, VodPlayer>();
  private tl: Timeline;
  private reason: string | null = null;
  private asking: Promise<string | null> | null = null;
  private at: number | null = null; // the wall's recorded instant (the playhead)
  private paused = false;
  private rate = 1;
  private playBtn: HTMLButtonElement;
  private speed: HTMLSelectElement;
  private clock: HTMLOutputElement;
  private reasonLine: HTMLElement;
  private status: HTMLElement;
  private loadTimer = 0;
  private refresh: number;
  private sync: number;
  private destroyed = false;

  constructor(onLive: () => void) {
    const end = Date.now() + 60e3;
    this.tl = new Timeline(end - 15 * 60e3, end, (t) => { this.seek(t); }, () => this.scheduleLoad());
    this.playBtn = h('button', { type: 'button', title: 'Play / pause the wall (Space)', 'data-action': 'wall-play', onclick: () => this.togglePlay() }, 'Play');
    this.speed = h('select', { 'aria-label': 'Speed', title: 'Speed of every tile' },
      ...[0.25, 0.5, 1, 2, 4, 8, 16].map((s) => h('option', { value: s, selected: s === 1 }, `${s}×`)));
    this.speed.addEventListener('change', () => { this.rate = Number(this.speed.value); this.tick(); });
    this.clock = h('output', { class: 'clock', 'aria-label': 'Recorded time of the wall' }, '—');
    this.reasonLine = h('span', { class: 'muted' });
    this.status = h('span', { class: 'muted', role: 'status' }, 'Click the timeline to play every tile from that instant.');
    this.el = h('div', { class: 'wall-playback' },
      h('div', { class: 'controls' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'live', title: 'Back to live video', onclick: onLive }, '● Back to live'),
        this.playBtn, h('label', { class: 'muted' }, 'Speed ', this.speed), this.clock, this.reasonLine),
      this.tl.canvas,
      h('div', { class: 'controls' },
        h('button', { type: 'button', title: 'Zoom out', onclick: () => this.tl.zoom(2, this.at ?? undefined) }, '−'),
        h('button', { type: 'button', title: 'Zoom in', onclick: () => this.tl.zoom(0.5, this.at ?? undefined) }, '+'),
        ...([['30 d', maxSpan], ['1 d', 86400e3], ['1 h', 3600e3], ['10 min', 600e3], ['1 min', 60e3]] as const)
          .map(([label, span]) => h('button', { type: 'button', class: 'secondary', onclick: () => this.zoomTo(span) }, label)),
        this.status));
    this.loadTimeline();
    this.refresh = window.setInterval(() => this.loadTimeline(), 10000);
    this.sync = window.setInterval(() => this.tick(), 250);
  }

  /** attach plays camera id in tile i's video, from the wall's instant if one is chosen. */
  attach(i: number, id: string, video: HTMLVideoElement, onStatus: (s: VodStatus) => void): void {
    this.detach(i);
    const p = new VodPlayer(id, video, onStatus);
    this.players.set(i, p);
    if (this.at !== null && this.reason) p.load(this.at, this.reason, !this.paused);
    else onStatus({ state: 'idle', message: 'Pick an instant on the timeline.' });
    this.scheduleLoad();
  }

  /** detach stops tile i's player. */
  detach(i: number): void {
    this.players.get(i)?.destroy();
    this.players.delete(i);
  }

  /** instant is the wall's recorded instant, or null before one is chosen. */
  instant(): number | null {
    return this.at;
  }

  /** seek plays every tile from instant t (asking the purpose the first time). */
  async seek(t: number): Promise<void> {
    const r = await this.purpose();
    if (!r || this.destroyed) return;
    this.at = t;
    this.paused = false;
    this.showTime(t);
    this.status.textContent = '';
    for (const p of this.players.values()) {
      const m = p.ready() ? p.locate(t) : 'outside';
      if (typeof m === 'number') {
        p.setGap(false);
        p.video.currentTime = m;
        p.video.play().catch(() => {});
      } else p.load(t, r, true);
    }
  }

  /** togglePlay pauses or plays every tile (the first time: the last minute recorded). */
  togglePlay(): void {
    if (this.at === null) {
      const last = this.tl.data.ranges[this.tl.data.ranges.length - 1];
      if (last) this.seek(Math.max(last.from, last.to - 60e3));
      else this.status.textContent = 'Nothing recorded in this window to play.';
      return;
    }
    this.paused = !this.paused;
    this.tick();
  }

  private purpose(): Promise<string | null> {
    if (this.reason) return Promise.resolve(this.reason);
    this.asking ??= ask('Purpose of this playback', 'Case or incident number, or why you review these cameras', {
      hint: 'The wall plays every tile\'s camera from the instant chosen; each playback is recorded in the audit log with this purpose.',
      ok: 'Play',
    }).then((r) => {
      this.asking = null;
      if (r) {
        this.reason = r;
        this.reasonLine.textContent = 'Purpose: ' + r;
      }
      return r;
    });
    return this.asking;
  }

  // tick keeps the tiles in step with the leader: the first tile playing.
  private tick(): void {
    this.playBtn.textContent = this.paused ? 'Play' : 'Pause';
    const ps = [...this.players.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    const leader = ps.find((p) => p.ready() && !p.gap && !p.video.ended);
    if (!leader || !this.reason) return;
    const w = leader.wallTime();
    if (w === null) return;
    this.at = w;
    this.showTime(w);
    for (const p of ps) {
      if (p.video.playbackRate !== this.rate) p.video.playbackRate = this.rate;
      if (p.failed || p.video.seeking) continue;
      if (p !== leader) {
        if (!p.ready()) continue;
        const m = p.locate(w);
        if (m === 'outside') {
          if (p.mayReload()) p.load(w, this.reason, !this.paused);
          continue;
        }
        p.setGap(m === 'gap');
        if (m === 'gap') continue;
        // Moved back in step only while the leader moves: a leader still loading is waited for.
        if (Math.abs(p.video.currentTime - m) > maxDrift && leader.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) {
          p.video.currentTime = m;
        }
      }
      if (this.paused && !p.video.paused) p.video.pause();
      else if (!this.paused && p.video.paused && !p.video.ended) p.video.play().catch(() => {});
    }
    // The leader's playlist ended: go on from its end if more may have been recorded since.
    const ended = ps.find((p) => p.video.ended && p.ready());
    if (ended && ended.mayReload() && w < Date.now() - 2000) ended.load(w, this.reason, !this.paused);
  }

  private zoomTo(span: number): void {
    const c = this.at ?? Math.min(Date.now(), (this.tl.from + this.tl.to) / 2);
    this.tl.setView(c - span / 2, c + span / 2);
  }

  private showTime(w: number): void {
    this.tl.playhead = w;
    this.clock.textContent = fmtTime(w);
    this.el.dataset.wall = String(Math.round(w));
    if (w > this.tl.to || w < this.tl.from) {
      const span = this.tl.to - this.tl.from;
      this.tl.setView(w - span * 0.2, w + span * 0.8);
    }
    this.tl.draw();
  }

  private scheduleLoad(): void {
    clearTimeout(this.loadTimer);
    this.loadTimer = window.setTimeout(() => this.loadTimeline(), 150);
  }

  // loadTimeline draws what any of the wall's cameras recorded in view.
  private async loadTimeline(): Promise<void> {
    const ids = [...new Set([...this.players.values()].map((p) => p.cameraId))];
    const from = new Date(Math.max(this.tl.from, this.tl.to - 31 * 86400e3 + 1000)).toISOString();
    const to = new Date(this.tl.to).toISOString();
    try {
      const all = await Promise.all(ids.map((id) => json<TimelineJSON>(cameraPath(id) + '/timeline?' + qs({ from, to }))
        .then((t) => t.ranges)
        .catch(() => []))); // a camera whose timeline fails leaves no green; its tile says why when it plays
      if (this.destroyed) return;
      this.tl.data = { ranges: union(all.flat().map((r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) }))) };
      this.tl.canvas.dataset.ranges = String(this.tl.data.ranges.length);
      if (!ids.length) this.status.textContent = 'Put cameras on the wall to play their recordings.';
      else if (!this.tl.data.ranges.length && this.at === null) this.status.textContent = 'Nothing recorded in this window. Zoom out or move the timeline.';
      this.tl.draw();
    } catch (e) {
      this.status.textContent = errorText(e);
    }
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.refresh);
    clearInterval(this.sync);
    clearTimeout(this.loadTimer);
    for (const p of this.players.values()) p.destroy();
    this.players.clear();
    this.tl.destroy();
  }
}

// union merges ranges into sorted, disjoint ones.
function union(rs: { from: number; to: number }[]): { from: number; to: number }[] {
  rs.sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}
