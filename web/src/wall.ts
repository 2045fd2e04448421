// The video wall: 1, 2x2, 3x3 or 4x4 tiles, saved per user in this browser.
// Live, each tile plays over WHEP with LL-HLS as the fallback and shows the
// camera's name, its state, its latency, fullscreen, a snapshot and a jump
// to playback. In playback mode one timeline plays every tile's recordings
// in step (wallplayback.ts). Cameras are dragged onto tiles from the list
// (or a map card, in another window), tiles onto each other to swap.
// #/wall/<camera id> puts a camera on the wall by id (one shared with the
// caller's organisation, which the camera list does not name, included).

import { ApiError, camera, type Camera } from './api';
import { cameraList, cameraType, dragCamera } from './cameralist';
import { errorText, h, say } from './dom';
import { LivePlayer, type LiveStatus } from './live';
import type { Ctx } from './main';
import { WallPlayback, type VodStatus } from './wallplayback';

export const layouts = [1, 2, 3, 4] as const;
const maxTiles = 16;
const retryMs = 5000; // a tile whose live video failed tries again after this
const rewindMs = 30e3; // jump to playback: this long before now

interface WallState {
  layout: number; // tiles per side
  cameras: (string | null)[]; // maxTiles entries
}

const key = (userId: string) => 'argus.wall.' + userId;

export function loadWall(userId: string): WallState {
  try {
    const s = JSON.parse(localStorage.getItem(key(userId)) ?? '');
    if (layouts.includes(s.layout) && Array.isArray(s.cameras)) {
      const cams = s.cameras.slice(0, maxTiles).map((c: unknown) => (typeof c === 'string' ? c : null));
      while (cams.length < maxTiles) cams.push(null);
      return { layout: s.layout, cameras: cams };
    }
  } catch { /* nothing saved, or saved by another version */ }
  return { layout: 2, cameras: Array(maxTiles).fill(null) };
}

function saveWall(userId: string, s: WallState): void {
  localStorage.setItem(key(userId), JSON.stringify(s));
}

/**
 * addToWall puts a camera in the first free tile of the user's wall (or
 * grows the layout to make one; the last tile when the wall is full).
 */
export function addToWall(userId: string, cameraId: string): void {
  const s = loadWall(userId);
  if (s.cameras.slice(0, s.layout * s.layout).includes(cameraId)) return;
  let i = s.cameras.slice(0, s.layout * s.layout).indexOf(null);
  while (i < 0 && s.layout < 4) {
    s.layout++;
    i = s.cameras.slice(0, s.layout * s.layout).indexOf(null);
  }
  if (i < 0) i = s.layout * s.layout - 1;
  s.cameras[i] = cameraId;
  saveWall(userId, s);
}

/**
 * openOnWall replaces the user's wall with these cameras (the first 16), in
 * the smallest layout that holds them all.
 */
export function openOnWall(userId: string, cameraIds: string[]): void {
  const cameras: (string | null)[] = cameraIds.slice(0, maxTiles);
  const layout = layouts.find((n) => n * n >= cameras.length) ?? 4;
  while (cameras.length < maxTiles) cameras.push(null);
  saveWall(userId, { layout, cameras });
}

/** snapshotName is `<camera>-<UTC time>.png`, e.g. cam-1-20260124T140312Z.png. */
export function snapshotName(cameraId: string, t: number): string {
  return `${cameraId}-${new Date(t).toISOString().replace(/[-:]|\.\d+/g, '')}.png`;
}

const keys: [string, string][] = [
  ['1 2 3 4', 'layout 1, 2×2, 3×3, 4×4'],
  ['← → ↑ ↓', 'select a tile'],
  ['Shift + arrows', 'move the selected tile\'s camera (swap with the neighbour)'],
  ['Enter (in the camera list)', 'put that camera on the selected tile'],
  ['F', 'the selected tile full screen (again, or Esc, to leave)'],
  ['S', 'snapshot of the selected tile (PNG)'],
  ['P', 'the selected tile\'s camera in playback (30 s ago; in wall playback, the wall\'s instant)'],
  ['Delete, Backspace', 'empty the selected tile'],
  ['Space', 'play / pause, in wall playback'],
  ['?', 'this help'],
];

interface Tile {
  el: HTMLElement;
  index: number;
  cameraId: string | null;
  video?: HTMLVideoElement;
  player?: LivePlayer;
  retry?: number;
}

export function mountWall(root: HTMLElement, arg: string, ctx: Ctx): () => void {
  const userId = ctx.user.id;
  if (arg) addToWall(userId, arg);
  const state = loadWall(userId);
  let selected = 0;
  let dragFrom: number | null = null; // the tile being dragged, on this wall
  let pb: WallPlayback | null = null;
  const tiles: Tile[] = [];
  const grid = h('div', { class: 'wall', role: 'grid', 'aria-label': 'Video wall', 'data-mode': 'live' });

  const layoutButtons = layouts.map((n) => h('button', {
    type: 'button', 'data-layout': n, title: `${n === 1 ? 'One tile' : `${n}×${n} tiles`} (key ${n})`,
    onclick: () => setLayout(n),
  }, n === 1 ? '1' : `${n}×${n}`));
  const liveBtn = h('button', { type: 'button', 'data-mode': 'live', title: 'Live video on every tile', onclick: () => setMode(false) }, 'Live');
  const pbBtn = h('button', { type: 'button', 'data-mode': 'playback', title: 'Play every tile\'s recordings in step on one timeline', onclick: () => setMode(true) }, 'Playback');
  const help = h('dialog', { class: 'help', 'aria-label': 'Keyboard shortcuts' },
    h('h2', {}, 'Keys on the wall'),
    h('table', {}, ...keys.map(([k, what]) => h('tr', {}, h('th', {}, h('kbd', {}, k)), h('td', {}, what)))),
    h('p', { class: 'muted' }, 'Drag a camera from the list (or a map card) onto a tile to show it there; drag a tile onto another to swap them. Double-click a tile for full screen.'),
    h('menu', {}, h('button', { type: 'button', onclick: () => help.close() }, 'Close')));
  const toolbar = h('div', { class: 'toolbar' },
    h('span', { class: 'muted' }, 'Layout'), ...layoutButtons,
    h('button', { type: 'button', class: 'secondary', onclick: () => { state.cameras.fill(null); save(); render(); } }, 'Clear wall'),
    h('span', { class: 'muted' }, 'Mode'), liveBtn, pbBtn,
    h('span', { class: 'muted hint' }, 'Drag cameras onto tiles · 1–4 layout · arrows select · F S P · Del'),
    h('button', { type: 'button', class: 'secondary', title: 'Keyboard shortcuts (?)', 'aria-label': 'Keyboard shortcuts', onclick: () => help.showModal() }, '?'));
  const pane = h('section', { class: 'wall-pane' }, toolbar, grid);

  const pick = (c: Camera) => {
    const n = state.layout * state.layout;
    setCamera(selected, c.id);
    // The next empty tile is selected for the next pick (the same one when the wall is full).
    const next = state.cameras.slice(0, n).indexOf(null, selected);
    const first = state.cameras.slice(0, n).indexOf(null);
    select(next >= 0 ? next : first >= 0 ? first : selected);
  };
  root.append(cameraList(pick, 'Drag a camera onto a tile, or click it (Enter) to put it on the selected tile.'), pane, help);

  function save() { saveWall(userId, state); }

  function setLayout(n: number) {
    state.layout = n;
    selected = Math.min(selected, n * n - 1);
    save();
    render();
  }

  function setMode(playback: boolean) {
    if (playback === (pb !== null)) return;
    if (pb) {
      pb.destroy();
      pb.el.remove();
      pb = null;
    } else {
      pb = new WallPlayback(() => setMode(false));
      pane.append(pb.el);
    }
    grid.dataset.mode = pb ? 'playback' : 'live';
    liveBtn.setAttribute('aria-pressed', String(!pb));
    pbBtn.setAttribute('aria-pressed', String(!!pb));
    render();
  }

  function setCamera(i: number, id: string | null) {
    state.cameras[i] = id;
    save();
    const t = tiles[i];
    if (t) fill(t, id);
  }

  function swap(a: number, b: number) {
    const ca = state.cameras[a];
    state.cameras[a] = state.cameras[b];
    state.cameras[b] = ca;
    save();
    if (tiles[a]) fill(tiles[a], state.cameras[a]);
    if (tiles[b]) fill(tiles[b], state.cameras[b]);
  }

  // drop puts camera id on tile i: a tile dragged (from) swaps with it; a
  // camera already on the wall moves there (swapping too); else it replaces.
  function drop(i: number, id: string, from: number | null) {
    const n = state.layout * state.layout;
    const j = from ?? state.cameras.slice(0, n).indexOf(id);
    if (j === i) return;
    if (j >= 0 && state.cameras[j] === id) swap(j, i);
    else setCamera(i, id);
    select(i);
  }

  function render() {
    for (const t of tiles) clear(t);
    tiles.length = 0;
    const n = state.layout;
    grid.style.setProperty('--n', String(n));
    grid.dataset.layout = `${n}x${n}`;
    for (const b of layoutButtons) b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === n));
    liveBtn.setAttribute('aria-pressed', String(!pb));
    pbBtn.setAttribute('aria-pressed', String(!!pb));
    grid.replaceChildren();
    for (let i = 0; i < n * n; i++) {
      const t = tile(i);
      tiles.push(t);
      grid.append(t.el);
      fill(t, state.cameras[i]);
    }
    select(selected);
  }

  // tile builds tile i's element: selection, double-click, drag and drop.
  function tile(i: number): Tile {
    const el = h('div', { class: 'tile', role: 'gridcell', tabindex: -1, 'data-index': i });
    const t: Tile = { el, index: i, cameraId: null };
    el.addEventListener('click', () => select(i));
    el.addEventListener('dblclick', (ev) => {
      if (t.cameraId && !(ev.target as HTMLElement).closest('button, a')) fullscreen(el);
    });
    el.addEventListener('dragstart', (ev) => {
      if (!t.cameraId) { ev.preventDefault(); return; }
      dragCamera(ev, t.cameraId);
      dragFrom = i;
    });
    el.addEventListener('dragend', () => { dragFrom = null; });
    el.addEventListener('dragover', (ev) => {
      if (!ev.dataTransfer?.types.includes(cameraType)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = dragFrom === null ? 'copy' : 'move';
      el.classList.add('drop');
    });
    el.addEventListener('dragleave', (ev) => {
      if (!el.contains(ev.relatedTarget as Node | null)) el.classList.remove('drop');
    });
    el.addEventListener('drop', (ev) => {
      ev.preventDefault();
      el.classList.remove('drop');
      const id = ev.dataTransfer?.getData(cameraType);
      if (id) drop(i, id, dragFrom);
      dragFrom = null;
    });
    return t;
  }

  function select(i: number) {
    selected = i;
    tiles.forEach((t, k) => {
      t.el.classList.toggle('selected', k === i);
      t.el.tabIndex = k === i ? 0 : -1;
      t.el.setAttribute('aria-selected', String(k === i));
    });
  }

  function clear(t: Tile) {
    clearTimeout(t.retry);
    t.player?.stop();
    t.player = undefined;
    pb?.detach(t.index);
    t.video = undefined;
  }

  function fill(t: Tile, id: string | null, retrying = false) {
    clear(t);
    t.cameraId = id;
    t.el.draggable = !!id;
    delete t.el.dataset.latency;
    if (!id) {
      t.el.dataset.state = 'empty';
      delete t.el.dataset.camera;
      t.el.replaceChildren(h('p', { class: 'empty' }, 'Empty: drag a camera here, or select this tile and pick one from the list.'));
      return;
    }
    t.el.dataset.camera = id;
    const video = h('video', { muted: true, autoplay: !pb, playsinline: true });
    video.muted = true;
    t.video = video;
    const name = h('span', { class: 'name' }, id);
    const badge = h('span', { class: 'badge', role: 'status' }, retrying ? 'reconnecting…' : 'connecting…');
    const latency = h('span', { class: 'latency', title: 'Latency: how far the picture is behind what the node sends' });
    const bar = h('div', { class: 'tilebar' }, name, badge, latency,
      h('button', { type: 'button', title: 'Snapshot (S)', 'aria-label': 'Snapshot', 'data-action': 'snapshot', onclick: () => snapshot(t) }, 'Snapshot'),
      h('button', { type: 'button', title: 'Fullscreen (F, or double-click)', 'aria-label': 'Fullscreen', onclick: () => fullscreen(t.el) }, 'Full screen'),
      h('button', { type: 'button', title: 'Playback (P)', 'aria-label': 'Playback', 'data-action': 'playback', onclick: () => playback(t) }, 'Playback'),
      h('button', { type: 'button', title: 'Remove (Del)', 'aria-label': 'Remove', onclick: (ev: Event) => { ev.stopPropagation(); setCamera(t.index, null); } }, '✕'));
    t.el.replaceChildren(video, bar);
    let gone = false; // the camera does not exist or is not the caller's to see
    let cam: Camera | undefined;
    camera(id).then((c) => { cam = c; name.textContent = c.name; name.title = [c.id, c.address].filter(Boolean).join(' · '); })
      .catch((e) => {
        if (t.video !== video) return;
        badge.textContent = errorText(e);
        // Say so, and do not retry.
        if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
          gone = true;
          clear(t);
          t.el.dataset.state = 'error';
          badge.className = 'badge error';
        }
      });
    if (pb) {
      pb.attach(t.index, id, video, (s: VodStatus) => {
        if (t.video !== video || gone) return;
        t.el.dataset.state = s.state === 'playing' ? 'playback' : s.state;
        badge.className = 'badge ' + (s.state === 'playing' ? 'playing' : s.state);
        badge.textContent = s.state === 'playing' ? 'playback' : s.state === 'loading' ? 'loading…' : s.state === 'paused' ? 'paused'
          : s.state === 'error' && cam?.recording === false ? 'This camera is not recorded.' : s.message ?? '';
      });
      return;
    }
    const player = new LivePlayer(video, id, (s: LiveStatus) => {
      if (t.player !== player || gone) return;
      if (s.state === 'error' && !s.permanent) {
        // Try again while the tile still shows this camera: a camera that
        // comes back, a node that restarted, a network that recovered.
        t.el.dataset.state = 'reconnecting';
        badge.className = 'badge reconnecting';
        badge.textContent = `${s.message ?? 'The live video stopped.'} Reconnecting in ${retryMs / 1000} s…`;
        latency.textContent = '';
        delete t.el.dataset.latency;
        t.retry = window.setTimeout(() => { if (t.player === player) fill(t, id, true); }, retryMs);
        return;
      }
      t.el.dataset.state = s.state === 'connecting' && retrying ? 'reconnecting' : s.state;
      badge.className = 'badge ' + t.el.dataset.state;
      if (s.state === 'connecting') badge.textContent = retrying ? 'reconnecting…' : 'connecting…';
      else if (s.state === 'playing') {
        const via = s.transport === 'whep' ? 'WebRTC' : 'LL-HLS';
        const src = s.source === 'sub' ? ' · sub-stream' : s.source === 'transcode' ? ' · transcoded' : '';
        badge.textContent = `live · ${via}${src}`;
      } else if (s.state === 'error') badge.textContent = s.message ?? 'The live video cannot be played.';
    });
    t.player = player;
    player.start();
  }

  // Each live tile's latency, once a second.
  const latencies = window.setInterval(() => {
    for (const t of tiles) {
      const p = t.player;
      if (!p || t.el.dataset.state !== 'playing') continue;
      p.latency().then((ms) => {
        if (t.player !== p) return;
        const span = t.el.querySelector('.latency')!;
        if (ms === null) { span.textContent = ''; delete t.el.dataset.latency; return; }
        t.el.dataset.latency = String(Math.round(ms));
        span.textContent = ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
      }).catch(() => { /* stats unavailable this time */ });
    }
  }, 1000);

  function fullscreen(el: HTMLElement) {
    if (document.fullscreenElement) document.exitFullscreen();
    else el.requestFullscreen().catch(() => say('This browser refused full screen.', 'info'));
  }

  // snapshot downloads the tile's current picture as a PNG.
  function snapshot(t: Tile) {
    const v = t.video;
    if (!t.cameraId || !v || !v.videoWidth) { say('This tile shows no picture to take a snapshot of yet.', 'info'); return; }
    const c = h('canvas', { width: v.videoWidth, height: v.videoHeight });
    c.getContext('2d')!.drawImage(v, 0, 0);
    const at = pb ? Number(v.dataset.wall) || Date.now() : Date.now();
    const name = snapshotName(t.cameraId, at);
    c.toBlob((b) => {
      if (!b) { say('The snapshot could not be encoded.'); return; }
      const url = URL.createObjectURL(b);
      h('a', { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }, 'image/png');
  }

  // playback opens the tile's camera in the playback view: 30 s ago, or the wall's instant.
  function playback(t: Tile) {
    if (!t.cameraId) return;
    const at = pb?.instant() ?? Date.now() - rewindMs;
    location.hash = `#/playback/${encodeURIComponent(t.cameraId)}/${new Date(at).toISOString()}`;
  }

  const onKey = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest('input, textarea, select, dialog') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const n = state.layout;
    const move = (d: number) => {
      const to = (selected + d + n * n) % (n * n);
      if (ev.shiftKey) swap(selected, to);
      select(to);
    };
    const t = tiles[selected];
    switch (ev.key) {
      case '1': case '2': case '3': case '4': setLayout(Number(ev.key)); break;
      case 'ArrowLeft': move(-1); break;
      case 'ArrowRight': move(1); break;
      case 'ArrowUp': move(-n); break;
      case 'ArrowDown': move(n); break;
      case 'f': case 'F': if (t?.cameraId) fullscreen(t.el); break;
      case 's': case 'S': if (t) snapshot(t); break;
      case 'p': case 'P': if (t) playback(t); break;
      case 'Delete': case 'Backspace': setCamera(selected, null); break;
      case ' ': if (!pb) return; pb.togglePlay(); break;
      case '?': help.showModal(); break;
      default: return;
    }
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  render();
  return () => {
    document.removeEventListener('keydown', onKey);
    clearInterval(latencies);
    for (const t of tiles) clear(t);
    pb?.destroy();
  };
}
