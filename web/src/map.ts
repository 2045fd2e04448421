// The city map: cameras on a plain background (or a tile server's raster
// tiles, ?tiles=URL with {z}/{x}/{y}), as the server's grid clusters while
// the view holds many and as points, coloured by state, once it holds few.
// Clicking a camera shows it with links to the wall and to playback.

import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { camera, cameraPath, json, qs, remember, type Camera, type GridCell, type Health, type Page } from './api';
import { cameraList } from './cameralist';
import { errorText, h, say } from './dom';
import type { Ctx } from './main';
import { addToWall } from './wall';

maplibregl.setWorkerUrl(workerUrl);

// Above this many cameras in view the map shows the grid's clusters.
const maxPoints = 1000;
// Health is asked per camera only when the view holds this few (the list
// has no state; one request per camera does not scale).
const maxHealth = 48;
// How long the grid's answers are reused (ms): the counts may lag this much.
const gridTTL = 30000;

export const stateColours: Record<string, string> = {
  online: '#3ccf7a',
  connecting: '#f2b84b',
  stalled: '#ff7a45',
  offline: '#ff4d4f',
  unauthorised: '#ff4d4f',
  unsupported_codec: '#ff4d4f',
  idle: '#7f9cbf',
  unknown: '#9aa3ad',
};

function tileURL(): string {
  return new URLSearchParams(location.search).get('tiles') ?? localStorage.getItem('argus.tiles') ?? '';
}

function style(tiles: string): maplibregl.StyleSpecification {
  const s: maplibregl.StyleSpecification = {
    version: 8,
    sources: {
      cams: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
    },
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#1c2430' } }],
  };
  if (tiles) {
    s.sources.tiles = { type: 'raster', tiles: [tiles], tileSize: 256, maxzoom: 19 };
    s.layers.push({ id: 'tiles', type: 'raster', source: 'tiles' });
  }
  s.layers.push(
    {
      id: 'cams', type: 'circle', source: 'cams',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
        'circle-color': ['match', ['get', 'state'], ...Object.entries(stateColours).flat(), stateColours.unknown] as unknown as maplibregl.ExpressionSpecification,
        'circle-stroke-color': ['case', ['boolean', ['get', 'selected'], false], '#ffffff', '#10151c'],
        'circle-stroke-width': ['case', ['boolean', ['get', 'selected'], false], 3, 1.5],
      },
    },
  );
  return s;
}

function countLabel(n: number): string {
  return n < 1000 ? String(n) : n < 1e6 ? (n / 1000).toFixed(n < 10000 ? 1 : 0).replace(/\.0$/, '') + 'k' : (n / 1e6).toFixed(1) + 'M';
}

// radius is a cluster's radius in pixels: it grows with the log of its count.
const radius = (count: number) => Math.min(26, 8 + 1.5 * Math.log(Math.max(count, 1)));

// clusterLayer draws the grid's cells, a circle with its count each, on a 2D
// canvas over the map, again at each frame the map renders, and returns the
// functions that set them and find the one under a point. A style without
// glyphs (no font server offline) cannot draw text; and drawn by maplibre (a
// GeoJSON source, a circle layer and a symbol layer of count icons) each new
// view cost a re-tiling in its worker, a fade and a second frame of placement:
// 200–900 ms per move in a software-rendered browser (docs/benchmarks.md,
// "Map at city scale").
function clusterLayer(map: maplibregl.Map): { set: (cells: GridCell[]) => void; at: (p: maplibregl.Point) => GridCell | undefined } {
  const canvas = h('canvas', { class: 'map-clusters' }) as HTMLCanvasElement;
  Object.assign(canvas.style, { position: 'absolute', left: '0', top: '0', pointerEvents: 'none' });
  map.getCanvasContainer().append(canvas);
  let shown: GridCell[] = [];
  map.on('render', () => {
    const dpr = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: ht } = map.getCanvas();
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(ht * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(ht * dpr);
      canvas.style.width = w + 'px';
      canvas.style.height = ht + 'px';
    }
    const g = canvas.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, ht);
    g.font = 'bold 12px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.lineWidth = 1;
    g.strokeStyle = '#cfe0ff';
    for (const c of shown) {
      const p = map.project([c.lon, c.lat]);
      const r = radius(c.count);
      if (p.x < -r || p.y < -r || p.x > w + r || p.y > ht + r) continue;
      g.beginPath();
      g.arc(p.x, p.y, r, 0, 2 * Math.PI);
      g.fillStyle = 'rgba(61, 123, 217, 0.8)';
      g.fill();
      g.stroke();
      g.fillStyle = '#fff';
      g.fillText(countLabel(c.count), p.x, p.y + 1);
    }
  });
  return {
    set(cells) { shown = cells; map.triggerRepaint(); },
    at(pt) {
      return shown.find((c) => map.project([c.lon, c.lat]).dist(pt) <= radius(c.count));
    },
  };
}

export function mountMap(root: HTMLElement, _arg: string, ctx: Ctx): () => void {
  const container = h('div', { class: 'map', 'data-cameras': 0 });
  const card = h('div', { class: 'card', hidden: true });
  const info = h('p', { class: 'muted', role: 'status' });
  const wallBtn = h('button', { type: 'button', class: 'secondary', title: 'Put the cameras in view (up to 16) on the wall' }, 'Open the cameras in view on the wall');
  const list = cameraList((c) => focus(c), 'Click a camera to find it on the map.');
  list.querySelector('ul')!.before(info, wallBtn, card, h('hr'));
  const legend = h('div', { class: 'legend', 'aria-label': 'Camera states' },
    ...(['online', 'connecting', 'offline', 'idle', 'unknown'] as const).map((st) =>
      h('span', {}, h('span', { class: 'dot', 'data-state': st }), ' ', st === 'idle' ? 'not pulled' : st)),
    h('span', {}, h('span', { class: 'dot cluster' }), ' cluster (count)'));
  root.append(list, h('section', { class: 'map-pane' }, container, legend));

  const map = new maplibregl.Map({
    container, style: style(tileURL()), center: [0, 20], zoom: 1, attributionControl: false, maxPitch: 0, dragRotate: false, fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  const clusters = clusterLayer(map);

  let points: Camera[] = [];
  const states = new Map<string, string>();
  let selected = '';
  let seq = 0;
  let destroyed = false;
  // When the last move ended (performance.now()): each view's time to draw
  // is measured from it (below, and e2e/map-scale.test.js).
  let movedAt = 0;

  // drawn waits for the map to be idle with view n's data, then records the
  // time since the move as a performance measure 'argus.map.view' (detail:
  // the grid request's share) and sets data-drawn to n.
  function drawn(n: number, moved: number, requested: number, answered: number) {
    map.once('idle', () => {
      if (n !== seq || destroyed) return;
      performance.measure('argus.map.view', {
        start: moved, end: performance.now(),
        detail: { mode: container.dataset.mode, request: answered - requested, wait: requested - moved },
      });
      container.dataset.drawn = String(n);
    });
  }

  function setPoints() {
    const features = points.map((c) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [c.lon, c.lat] },
      properties: { id: c.id, name: c.name, state: states.get(c.id) ?? 'unknown', selected: c.id === selected },
    }));
    (map.getSource('cams') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
    container.dataset.cameras = String(points.length);
  }

  // The grid's answers by zoom, each for a box three times the view's width
  // and height: a pan within it (and, prefetched, a zoom in or out by one)
  // draws without waiting for the server. Kept for gridTTL.
  const grids = new Map<number, { box: number[]; cells: GridCell[]; at: number }>();
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  function gridCells(zoom: number, view: number[]): Promise<GridCell[]> {
    const c = grids.get(zoom);
    if (c && performance.now() - c.at < gridTTL && c.box[0] <= view[0] && c.box[1] <= view[1] && c.box[2] >= view[2] && c.box[3] >= view[3]) {
      return Promise.resolve(c.cells);
    }
    const w = view[2] - view[0];
    const ht = view[3] - view[1];
    const box = [clamp(view[0] - w, -180, 180), clamp(view[1] - ht, -85, 85), clamp(view[2] + w, -180, 180), clamp(view[3] + ht, -85, 85)];
    return json<{ cells: GridCell[] }>('/api/v1/cameras/grid?' + qs({ bbox: box.map((v) => v.toFixed(6)).join(','), zoom }))
      .then((g) => { grids.set(zoom, { box, cells: g.cells, at: performance.now() }); return g.cells; });
  }

  async function update() {
    const n = ++seq;
    const b = map.getBounds();
    const view = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)];
    const bbox = view.map((v) => v.toFixed(6)).join(',');
    const zoom = clamp(Math.round(map.getZoom()), 0, 22);
    const moved = movedAt;
    const requested = performance.now();
    try {
      const all = await gridCells(zoom, view);
      if (n !== seq || destroyed) return;
      const answered = performance.now();
      const inView = all.filter((c) => c.lon >= view[0] && c.lon <= view[2] && c.lat >= view[1] && c.lat <= view[3]);
      const total = inView.reduce((s, c) => s + c.count, 0);
      if (total > maxPoints) {
        container.dataset.mode = 'clusters';
        if (points.length) { points = []; setPoints(); }
        clusters.set(inView);
        info.textContent = `${total.toLocaleString()} cameras in view, in ${inView.length.toLocaleString()} clusters. Zoom in to see each camera.`;
        drawn(n, moved, requested, answered);
        // The next zoom in and out, so that they too draw at once.
        for (const z of [zoom + 1, zoom - 1]) if (z >= 0 && z <= 22) gridCells(z, view).catch(() => { /* asked again when needed */ });
        return;
      }
      const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ bbox, limit: maxPoints }));
      if (n !== seq || destroyed) return;
      container.dataset.mode = 'points';
      clusters.set([]);
      remember(page.items);
      points = page.items;
      setPoints();
      drawn(n, moved, requested, performance.now());
      info.textContent = `${points.length} camera${points.length === 1 ? '' : 's'} in view.`;
      if (points.length <= maxHealth) {
        await Promise.all(points.filter((c) => !states.has(c.id)).map(async (c) => {
          try {
            const hl = await json<Health>(cameraPath(c.id) + '/health');
            states.set(c.id, hl.state);
          } catch { /* unknown */ }
        }));
        if (n === seq && !destroyed) setPoints();
      }
    } catch (e) {
      if (n === seq) info.textContent = errorText(e);
    }
  }

  // Start on the cameras: the grid at a low zoom gives where they are.
  async function fit() {
    try {
      const grid = await json<{ cells: GridCell[] }>('/api/v1/cameras/grid?' + qs({ bbox: '-180,-85,180,85', zoom: 8 }));
      if (destroyed) return;
      if (!grid.cells.length) { info.textContent = 'No camera you may see has a position yet.'; return; }
      const bounds = new maplibregl.LngLatBounds();
      for (const c of grid.cells) bounds.extend([c.lon, c.lat]);
      map.fitBounds(bounds, { padding: 80, maxZoom: 15, duration: 0 });
    } catch (e) {
      info.textContent = errorText(e);
    }
    update();
  }

  async function select(id: string) {
    selected = id;
    setPoints();
    card.hidden = false;
    card.replaceChildren(h('p', {}, 'Loading…'));
    try {
      const c = await camera(id);
      const state = states.get(id) ?? 'unknown';
      card.dataset.camera = id;
      card.replaceChildren(
        h('h3', {}, c.name),
        h('p', {}, h('span', { class: 'dot', 'data-state': state }), ' ', state),
        h('p', { class: 'muted' }, [c.id, c.address, c.district, c.org_id].filter(Boolean).join(' · ')),
        h('p', { class: 'muted' }, (c.tags ?? []).join(', ')),
        h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => { addToWall(ctx.user.id, id); location.hash = '#/wall'; } }, 'Watch on the wall'),
          h('button', { type: 'button', class: 'secondary', onclick: () => { addToWall(ctx.user.id, id); say(`${c.name} is on the wall.`, 'info'); } }, 'Add to wall'),
          h('a', { class: 'button secondary', href: '#/playback/' + encodeURIComponent(id) }, 'Playback')));
    } catch (e) {
      card.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    }
  }

  function focus(c: Camera) {
    map.jumpTo({ center: [c.lon, c.lat], zoom: Math.max(map.getZoom(), 16) });
    select(c.id);
  }

  map.on('click', 'cams', (e) => {
    const f = e.features?.[0];
    if (f) select(String(f.properties.id));
  });
  map.on('click', (e) => {
    const c = clusters.at(e.point);
    if (!c) return;
    if (c.camera_id) select(c.camera_id);
    map.easeTo({ center: [c.lon, c.lat], zoom: map.getZoom() + 2 });
  });
  map.on('mouseenter', 'cams', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'cams', () => { map.getCanvas().style.cursor = ''; });
  map.on('mousemove', (e) => {
    if (container.dataset.mode === 'clusters') map.getCanvas().style.cursor = clusters.at(e.point) ? 'pointer' : '';
  });
  // A move ends once per gesture: its view is asked for at once (an older
  // view's answer that comes later is dropped by seq).
  map.on('moveend', () => { movedAt = performance.now(); update(); });
  map.on('load', fit);
  map.on('idle', () => {
    container.dataset.rendered = String(map.queryRenderedFeatures({ layers: ['cams'] }).length);
  });
  map.on('error', (e) => console.warn('map:', e.error?.message));

  wallBtn.addEventListener('click', () => {
    if (!points.length) { say('Zoom in until the cameras show as points, then try again.', 'info'); return; }
    for (const c of points.slice(0, 16)) addToWall(ctx.user.id, c.id);
    location.hash = '#/wall';
  });

  return () => {
    destroyed = true;
    map.remove();
  };
}
