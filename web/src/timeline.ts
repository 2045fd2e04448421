// A zoomable timeline on a canvas: recorded ranges over gaps, event markers,
// the playhead, the in/out marks, and a time axis from 30 days down to 10
// seconds. Wheel zooms around the pointer, dragging pans, a click seeks (on a
// marker: a few seconds before its event).

import { fmtTime } from './dom';

export const minSpan = 10e3;
export const maxSpan = 30 * 86400e3;

const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * 1000);

/** Marker is an event on the timeline; label is its tooltip. */
export interface Marker {
  t: number;
  severity: string;
  label: string;
}

export interface TimelineData {
  ranges: { from: number; to: number }[];
  markers?: Marker[]; // oldest first
}

// A click on a marker seeks this long before its event.
const markerLead = 5e3;
// How near a marker (CSS pixels) the pointer picks it.
const markerReach = 5;
// Markers closer than this (CSS pixels) are drawn as one, the most severe.
const markerGap = 6;
const markerColours: Record<string, string> = { info: '#7fb2ff', warning: '#f2b84b', critical: '#ff4d4f' };
const markerRank: Record<string, number> = { info: 0, warning: 1, critical: 2 };

/** Timeline draws the view [from, to) and reports seeks and view changes. */
export class Timeline {
  readonly canvas: HTMLCanvasElement;
  from: number;
  to: number;
  data: TimelineData = { ranges: [], markers: [] };
  playhead: number | null = null;
  markIn: number | null = null;
  markOut: number | null = null;
  private hover: number | null = null;
  private raf = 0;
  private resize: ResizeObserver;

  constructor(
    from: number,
    to: number,
    private onSeek: (t: number) => void,
    private onView: () => void,
  ) {
    this.from = from;
    this.to = to;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'slider');
    this.canvas.setAttribute('aria-label', 'Timeline: click to seek, wheel to zoom, drag to pan');
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.canvas);
    this.listen();
  }

  destroy(): void {
    this.resize.disconnect();
    cancelAnimationFrame(this.raf);
  }

  /** timeAt is the instant under a canvas x coordinate (CSS pixels). */
  timeAt(x: number): number {
    return this.from + (x / this.canvas.clientWidth) * (this.to - this.from);
  }

  /** xOf is the canvas x coordinate (CSS pixels) of an instant. */
  xOf(t: number): number {
    return ((t - this.from) / (this.to - this.from)) * this.canvas.clientWidth;
  }

  /** markerAt is the most severe marker within reach of canvas x (the
   * nearest of those), as drawn where markers crowd. */
  markerAt(x: number): Marker | null {
    const ms = this.data.markers ?? [];
    let best: Marker | null = null;
    let dist = markerReach;
    const end = this.timeAt(x + markerReach);
    for (let i = firstAt(ms, this.timeAt(x - markerReach)); i < ms.length && ms[i].t <= end; i++) {
      const d = Math.abs(this.xOf(ms[i].t) - x);
      if (d > markerReach) continue;
      const rank = (markerRank[ms[i].severity] ?? 0) - (best ? markerRank[best.severity] ?? 0 : -1);
      if (rank > 0 || (rank === 0 && d <= dist)) { best = ms[i]; dist = d; }
    }
    return best;
  }

  /** zoom scales the view by factor around instant at (the centre by default). */
  zoom(factor: number, at = (this.from + this.to) / 2): void {
    const span = Math.min(maxSpan, Math.max(minSpan, (this.to - this.from) * factor));
    const k = (at - this.from) / (this.to - this.from);
    this.setView(at - k * span, at + (1 - k) * span);
  }

  setView(from: number, to: number): void {
    this.from = from;
    this.to = to;
    this.draw();
    this.onView();
  }

  /** draw schedules a redraw on the next frame. */
  draw(): void {
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(() => this.paint());
  }

  private listen(): void {
    const c = this.canvas;
    let down: { x: number; from: number; to: number; moved: boolean } | null = null;
    c.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      this.zoom(ev.deltaY > 0 ? 1.25 : 0.8, this.timeAt(ev.offsetX));
    }, { passive: false });
    c.addEventListener('pointerdown', (ev) => {
      down = { x: ev.offsetX, from: this.from, to: this.to, moved: false };
      c.setPointerCapture(ev.pointerId);
    });
    c.addEventListener('pointermove', (ev) => {
      this.hover = this.timeAt(ev.offsetX);
      const m = down ? null : this.markerAt(ev.offsetX);
      const title = m ? m.label : '';
      if (c.title !== title) {
        c.title = title;
        c.style.cursor = m ? 'pointer' : '';
      }
      if (down) {
        const dx = ev.offsetX - down.x;
        if (Math.abs(dx) > 3) down.moved = true;
        if (down.moved) {
          const dt = (dx / c.clientWidth) * (down.to - down.from);
          this.from = down.from - dt;
          this.to = down.to - dt;
          this.onView();
        }
      }
      this.draw();
    });
    c.addEventListener('pointerup', (ev) => {
      if (down && !down.moved) {
        const m = this.markerAt(ev.offsetX);
        this.onSeek(m ? m.t - markerLead : this.timeAt(ev.offsetX));
      }
      down = null;
    });
    c.addEventListener('pointerleave', () => { this.hover = null; this.draw(); });
  }

  private paint(): void {
    const c = this.canvas;
    const w = c.clientWidth;
    const hgt = c.clientHeight;
    if (!w || !hgt) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    c.dataset.from = String(Math.round(this.from));
    c.dataset.to = String(Math.round(this.to));
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const barTop = 26;
    const barH = hgt - barTop - 14;

    // gaps: the whole bar, then the recorded ranges over it
    g.fillStyle = '#3a2328';
    g.fillRect(0, barTop, w, barH);
    g.fillStyle = '#2f8f5b';
    for (const r of this.data.ranges) {
      if (r.to < this.from || r.from > this.to) continue;
      const x0 = Math.max(0, this.xOf(r.from));
      const x1 = Math.min(w, this.xOf(r.to));
      g.fillRect(x0, barTop, Math.max(1, x1 - x0), barH);
    }
    // the future
    const now = Date.now();
    if (now < this.to) {
      const x = Math.max(0, this.xOf(now));
      g.fillStyle = '#1b1e24';
      g.fillRect(x, barTop, w - x, barH);
    }

    // axis
    const span = this.to - this.from;
    const step = steps.find((s) => (s / span) * w >= 90) ?? steps[steps.length - 1];
    g.fillStyle = '#aab';
    g.strokeStyle = '#556';
    g.font = '12px system-ui, sans-serif';
    g.textBaseline = 'top';
    const tz = new Date().getTimezoneOffset() * 60e3;
    for (let t = Math.ceil((this.from - tz) / step) * step + tz; t <= this.to; t += step) {
      const x = Math.round(this.xOf(t)) + 0.5;
      g.beginPath();
      g.moveTo(x, barTop - 6);
      g.lineTo(x, barTop + barH);
      g.stroke();
      g.fillText(tickLabel(t, step), x + 3, 4);
    }

    // event markers: a triangle above the bar and a line through it, in the
    // severity's colour. Where they crowd, one per markerGap pixels (the most
    // severe); the triangles are one path per severity and the lines
    // pixel-aligned rectangles, so a thousand events cost about a millisecond.
    const ms = this.data.markers ?? [];
    const drawn = new Map<string, { path: Path2D; xs: number[] }>();
    const add = (m: Marker, x: number) => {
      let d = drawn.get(m.severity);
      if (!d) drawn.set(m.severity, (d = { path: new Path2D(), xs: [] }));
      d.path.moveTo(x - 4, barTop - 10);
      d.path.lineTo(x + 5, barTop - 10);
      d.path.lineTo(x + 0.5, barTop - 1);
      d.path.closePath();
      d.xs.push(x);
    };
    let shown = 0;
    let pending: Marker | null = null;
    let px = 0;
    const msEnd = this.timeAt(w + markerReach);
    for (let i = firstAt(ms, this.timeAt(-markerReach)); i < ms.length && ms[i].t <= msEnd; i++) {
      const m = ms[i];
      const x = Math.round(this.xOf(m.t));
      shown++;
      if (pending && x - px < markerGap) {
        if ((markerRank[m.severity] ?? 0) > (markerRank[pending.severity] ?? 0)) pending = m;
        continue;
      }
      if (pending) add(pending, px);
      pending = m;
      px = x;
    }
    if (pending) add(pending, px);
    for (const [sev, d] of drawn) {
      g.fillStyle = markerColours[sev] ?? '#ccc';
      g.fill(d.path);
      for (const x of d.xs) g.fillRect(x, barTop, 1, barH);
    }
    c.dataset.markers = String(shown);

    // in/out selection
    if (this.markIn !== null || this.markOut !== null) {
      const a = this.markIn ?? this.markOut!;
      const b = this.markOut ?? this.markIn!;
      const x0 = this.xOf(Math.min(a, b));
      const x1 = this.xOf(Math.max(a, b));
      g.fillStyle = 'rgba(80, 150, 255, 0.35)';
      g.fillRect(x0, barTop, Math.max(2, x1 - x0), barH);
      g.fillStyle = '#59f';
      if (this.markIn !== null) g.fillRect(this.xOf(this.markIn) - 1, barTop - 4, 2, barH + 8);
      if (this.markOut !== null) g.fillRect(this.xOf(this.markOut) - 1, barTop - 4, 2, barH + 8);
    }

    // playhead and hover
    if (this.playhead !== null) {
      const x = this.xOf(this.playhead);
      g.fillStyle = '#ff5a4e';
      g.fillRect(x - 1, barTop - 8, 2, barH + 12);
    }
    if (this.hover !== null) {
      const x = this.xOf(this.hover);
      g.fillStyle = 'rgba(255,255,255,0.6)';
      g.fillRect(x, barTop, 1, barH);
      const label = fmtTime(this.hover);
      const tw = g.measureText(label).width;
      const lx = Math.min(Math.max(0, x - tw / 2), w - tw - 4);
      g.fillStyle = '#000c';
      g.fillRect(lx - 2, barTop + barH - 16, tw + 6, 16);
      g.fillStyle = '#fff';
      g.fillText(label, lx + 1, barTop + barH - 14);
    }
  }
}

// firstAt is the index of the first marker at or after t (markers sorted by time).
function firstAt(ms: Marker[], t: number): number {
  let lo = 0;
  let hi = ms.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function tickLabel(t: number, step: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  const date = `${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (step < 60e3) return `${hm}:${p(d.getSeconds())}`;
  if (step >= 86400e3) return date;
  return d.getHours() === 0 && d.getMinutes() === 0 ? `${date} ${hm}` : hm;
}
