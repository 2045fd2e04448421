// The video wall: 1, 2x2, 3x3 or 4x4 live tiles, saved per user in this
// browser. Each tile plays over WHEP with LL-HLS as the fallback and shows
// the camera's name, its state, fullscreen and a jump to playback.
// #/wall/<camera id> puts a camera on the wall by id (one shared with the
// caller's organisation, which the camera list does not name, included).

import { ApiError, camera, type Camera } from './api';
import { cameraList } from './cameralist';
import { errorText, h } from './dom';
import { LivePlayer, type LiveStatus } from './live';
import type { Ctx } from './main';

export const layouts = [1, 2, 3, 4] as const;
const maxTiles = 16;

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

interface Tile {
  el: HTMLElement;
  cameraId: string | null;
  player?: LivePlayer;
}

export function mountWall(root: HTMLElement, arg: string, ctx: Ctx): () => void {
  const userId = ctx.user.id;
  if (arg) addToWall(userId, arg);
  const state = loadWall(userId);
  let selected = 0;
  const tiles: Tile[] = [];
  const grid = h('div', { class: 'wall', role: 'grid', 'aria-label': 'Video wall' });

  const layoutButtons = layouts.map((n) => h('button', {
    type: 'button', 'data-layout': n, title: `${n === 1 ? 'One tile' : `${n}×${n} tiles`} (key ${n})`,
    onclick: () => setLayout(n),
  }, n === 1 ? '1' : `${n}×${n}`));
  const toolbar = h('div', { class: 'toolbar' },
    h('span', { class: 'muted' }, 'Layout'), ...layoutButtons,
    h('button', { type: 'button', class: 'secondary', onclick: () => { state.cameras.fill(null); save(); render(); } }, 'Clear wall'),
    h('span', { class: 'muted hint' }, 'Keys: 1–4 layout · arrows select · F fullscreen · P playback · Del remove'));

  const pick = (c: Camera) => {
    const n = state.layout * state.layout;
    let i = state.cameras[selected] === null ? selected : state.cameras.slice(0, n).indexOf(null);
    if (i < 0) i = selected;
    setCamera(i, c.id);
    selected = Math.min(n - 1, i + 1);
    markSelected();
  };
  root.append(cameraList(pick, 'Click a camera to put it on the selected or next free tile.'),
    h('section', { class: 'wall-pane' }, toolbar, grid));

  function save() { saveWall(userId, state); }

  function setLayout(n: number) {
    state.layout = n;
    selected = Math.min(selected, n * n - 1);
    save();
    render();
  }

  function setCamera(i: number, id: string | null) {
    state.cameras[i] = id;
    save();
    const t = tiles[i];
    if (t) fill(t, id);
  }

  function render() {
    for (const t of tiles) t.player?.stop();
    tiles.length = 0;
    const n = state.layout;
    grid.style.setProperty('--n', String(n));
    grid.dataset.layout = `${n}x${n}`;
    for (const b of layoutButtons) b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === n));
    grid.replaceChildren();
    for (let i = 0; i < n * n; i++) {
      const el = h('div', { class: 'tile', role: 'gridcell', tabindex: -1, 'data-index': i });
      el.addEventListener('click', () => { selected = i; markSelected(); });
      const t: Tile = { el, cameraId: null };
      tiles.push(t);
      grid.append(el);
      fill(t, state.cameras[i]);
    }
    markSelected();
  }

  function markSelected() {
    tiles.forEach((t, i) => t.el.classList.toggle('selected', i === selected));
  }

  function fill(t: Tile, id: string | null) {
    t.player?.stop();
    t.player = undefined;
    t.cameraId = id;
    const i = tiles.indexOf(t);
    if (!id) {
      t.el.dataset.state = 'empty';
      delete t.el.dataset.camera;
      t.el.replaceChildren(h('p', { class: 'empty' }, 'Empty: pick a camera from the list or the map.'));
      return;
    }
    t.el.dataset.camera = id;
    const video = h('video', { muted: true, autoplay: true, playsinline: true });
    video.muted = true;
    const name = h('span', { class: 'name' }, id);
    const badge = h('span', { class: 'badge' }, 'connecting…');
    const bar = h('div', { class: 'tilebar' }, name, badge,
      h('button', { type: 'button', title: 'Fullscreen (F)', 'aria-label': 'Fullscreen', onclick: () => fullscreen(t.el) }, 'Full screen'),
      h('a', { class: 'button', href: '#/playback/' + encodeURIComponent(id), title: 'Playback (P)', 'aria-label': 'Playback' }, 'Playback'),
      h('button', { type: 'button', title: 'Remove (Del)', 'aria-label': 'Remove', onclick: (ev: Event) => { ev.stopPropagation(); setCamera(i, null); } }, '✕'));
    t.el.replaceChildren(video, bar);
    camera(id).then((c) => { name.textContent = c.name; name.title = [c.id, c.address].filter(Boolean).join(' · '); })
      .catch((e) => {
        name.textContent = id;
        badge.textContent = errorText(e);
        // A camera that does not exist or is not the caller's to see: say so, and do not retry.
        if (e instanceof ApiError && (e.status === 404 || e.status === 403) && t.player === player) {
          player.stop();
          t.player = undefined;
          t.el.dataset.state = 'error';
          badge.className = 'badge error';
        }
      });
    const show = (s: LiveStatus) => {
      t.el.dataset.state = s.state;
      badge.className = 'badge ' + s.state;
      if (s.state === 'connecting') badge.textContent = 'connecting…';
      else if (s.state === 'playing') {
        const via = s.transport === 'whep' ? 'WebRTC' : 'LL-HLS';
        const src = s.source === 'sub' ? ' · sub-stream' : s.source === 'transcode' ? ' · transcoded' : '';
        badge.textContent = `live · ${via}${src}`;
      } else if (s.state === 'error') {
        badge.textContent = (s.message ?? 'The live video stopped.') + ' Retrying…';
        // Try again while the tile still shows this camera: a camera that
        // comes back, a node that restarted, a network that recovered.
        setTimeout(() => { if (t.player === player) fill(t, id); }, 5000);
      }
    };
    const player = new LivePlayer(video, id, show);
    t.player = player;
    player.start();
  }

  function fullscreen(el: HTMLElement) {
    if (document.fullscreenElement) document.exitFullscreen();
    else el.requestFullscreen().catch(() => {});
  }

  const onKey = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest('input, textarea, select, dialog') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const n = state.layout;
    const move = (d: number) => { selected = (selected + d + n * n) % (n * n); markSelected(); };
    switch (ev.key) {
      case '1': case '2': case '3': case '4': setLayout(Number(ev.key)); break;
      case 'ArrowLeft': move(-1); break;
      case 'ArrowRight': move(1); break;
      case 'ArrowUp': move(-n); break;
      case 'ArrowDown': move(n); break;
      case 'f': case 'F': if (tiles[selected]) fullscreen(tiles[selected].el); break;
      case 'p': case 'P': {
        const id = tiles[selected]?.cameraId;
        if (id) location.hash = '#/playback/' + encodeURIComponent(id);
        break;
      }
      case 'Delete': case 'Backspace': setCamera(selected, null); break;
      default: return;
    }
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  render();
  return () => {
    document.removeEventListener('keydown', onKey);
    for (const t of tiles) t.player?.stop();
  };
}
