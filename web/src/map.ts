// The city map: cameras on a plain background (or a tile server's raster
// tiles, ?tiles=URL with {z}/{x}/{y}), as the server's grid clusters while
// the view holds many and as points once it holds few. A point shows its
// camera's state (online, connecting, offline or failing, alerting, idle) by
// colour and by a mark, and a cluster the number of its cameras offline and
// alerting, both named in the legend. Clicking a camera shows it with links
// to the wall and to playback. Under the cameras, the directory's districts
// (GET /api/v1/districts) are the background when there is no tile server,
// and an overlay that can be switched on over one. Select area (key S, or
// Shift-drag at any time) opens the cameras in a dragged rectangle on the
// wall.

import type { Feature } from 'geojson';
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { camera, cameraPath, json, qs, remember, type Camera, type GridCell, type Health, type Page } from './api';
import { cameraList, dragCamera } from './cameralist';
import { errorText, h, say } from './dom';
import type { Ctx } from './main';
import { addToWall, openOnWall } from './wall';

maplibregl.setWorkerUrl(workerUrl);

// Above this many cameras in view the map shows the grid's clusters.
const maxPoints = 1000;
// How often a view of points asks again for its cameras' states (ms).
const pointsRefresh = 15000;
// How long the grid's answers are reused (ms): the counts may lag this much.
const gridTTL = 30000;
// The most cameras an area selection opens: the 4×4 wall.
const wallMax = 16;

// A district of GET /api/v1/districts.
interface District {
  name: string;
  cameras: number;
  outline: { lat: number; lon: number }[];
  center: { lat: number; lon: number };
}

// Muted fills for the districts, one per district in turn, so that
// neighbours differ; their outlines are lighter.
const districtFills = ['#263447', '#2c3a36', '#352f45', '#3a3529', '#2a3a44', '#3b2f36'];
const districtLayers = ['districts-fill', 'districts-line', 'districts-label'];

// A camera's class on the map: what its colour and its mark say. Colour is
// never alone: each class has a mark of its own (drawn, as the map has no
// fonts offline) and a word in the legend and on the camera's card.
export type MapClass = 'alerting' | 'trouble' | 'online' | 'connecting' | 'idle' | 'unknown';

export const mapClasses: Record<MapClass, { colour: string; label: string }> = {
  online: { colour: '#3ccf7a', label: 'online' },
  connecting: { colour: '#5fa8d3', label: 'connecting' },
  trouble: { colour: '#ff4d4f', label: 'offline or failing' },
  alerting: { colour: '#f2b84b', label: 'alerting' },
  idle: { colour: '#9aa3ad', label: 'idle (not pulled)' },
  unknown: { colour: '#6b7480', label: 'unknown' },
};

/** mapClass is the class of a camera's ingest state; an alert outranks it. */
export function mapClass(state: string | undefined, alerting = false): MapClass {
  if (alerting) return 'alerting';
  switch (state) {
    case 'online': case 'connecting': case 'idle': return state;
    case undefined: case '': case 'unknown': return 'unknown';
  }
  return 'trouble'; // offline, stalled, unauthorised, unsupported
}

// stateWords says each ingest state in a sentence, for the card.
const stateWords: Record<string, string> = {
  online: 'Online.',
  connecting: 'Connecting.',
  idle: 'Idle: nobody records or watches it on this node.',
  offline: 'Offline: the camera cannot be reached.',
  stalled: 'Stalled: connected, but no video arrives.',
  unauthorised: 'Unauthorised: the camera refuses argus\'s credentials.',
  unsupported: 'Unsupported: the camera sends no codec argus carries.',
  unsupported_codec: 'Unsupported: the camera sends no codec argus carries.',
};

// drawMark draws a class's mark centred at (x, y), radius r: a disc of its
// colour holding a check (online), a dot (connecting), a cross (offline or
// failing) or an exclamation mark (alerting); idle and unknown are rings.
function drawMark(g: CanvasRenderingContext2D, cls: MapClass, x: number, y: number, r: number): void {
  const colour = mapClasses[cls].colour;
  g.lineCap = 'round';
  g.lineJoin = 'round';
  g.beginPath();
  g.arc(x, y, r, 0, 2 * Math.PI);
  if (cls === 'idle' || cls === 'unknown') {
    g.fillStyle = '#10151c';
    g.fill();
    g.beginPath();
    g.arc(x, y, r * 0.7, 0, 2 * Math.PI);
    g.lineWidth = r * 0.45;
    g.strokeStyle = colour;
    g.stroke();
    return;
  }
  g.fillStyle = colour;
  g.fill();
  g.lineWidth = Math.max(1, r * 0.14);
  g.strokeStyle = '#10151c';
  g.stroke();
  const ink = cls === 'alerting' ? '#1c1300' : '#ffffff';
  g.strokeStyle = ink;
  g.fillStyle = ink;
  g.lineWidth = r * 0.26;
  const k = r * 0.4;
  g.beginPath();
  switch (cls) {
    case 'online':
      g.moveTo(x - k, y + k * 0.05);
      g.lineTo(x - k * 0.2, y + k * 0.75);
      g.lineTo(x + k, y - k * 0.6);
      g.stroke();
      break;
    case 'connecting':
      g.arc(x, y, r * 0.28, 0, 2 * Math.PI);
      g.fill();
      break;
    case 'trouble':
      g.moveTo(x - k, y - k);
      g.lineTo(x + k, y + k);
      g.moveTo(x + k, y - k);
      g.lineTo(x - k, y + k);
      g.stroke();
      break;
    case 'alerting':
      g.moveTo(x, y - r * 0.5);
      g.lineTo(x, y + r * 0.08);
      g.stroke();
      g.beginPath();
      g.arc(x, y + r * 0.45, r * 0.15, 0, 2 * Math.PI);
      g.fill();
      break;
  }
}

// markImage is a class's mark as a map image: 32 pixels drawn for a
// pixel ratio of 2.
function markImage(cls: MapClass): ImageData {
  const c = document.createElement('canvas');
  c.width = c.height = 32;
  const g = c.getContext('2d')!;
  drawMark(g, cls, 16, 16, 14);
  return g.getImageData(0, 0, 32, 32);
}

/** markIcon is a class's mark as a small element, for legends and cards. */
export function markIcon(cls: MapClass, size = 14): HTMLCanvasElement {
  const dpr = window.devicePixelRatio || 1;
  const c = h('canvas', { class: 'map-mark', 'data-class': cls, role: 'img', 'aria-label': mapClasses[cls].label }) as HTMLCanvasElement;
  c.width = c.height = Math.round(size * dpr);
  c.style.width = c.style.height = size + 'px';
  const g = c.getContext('2d')!;
  g.scale(dpr, dpr);
  drawMark(g, cls, size / 2, size / 2, size / 2 - 1);
  return c;
}

function tileURL(): string {
  return new URLSearchParams(location.search).get('tiles') ?? localStorage.getItem('argus.tiles') ?? '';
}

// labelImage draws a district's name as a map image (maplibre has no fonts
// offline): light text with a dark halo, for a pixel ratio of 2.
function labelImage(text: string): ImageData {
  const c = document.createElement('canvas');
  const g = c.getContext('2d')!;
  const font = '600 24px system-ui, sans-serif';
  g.font = font;
  c.width = Math.ceil(g.measureText(text).width) + 12;
  c.height = 36;
  g.font = font;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.lineJoin = 'round';
  g.lineWidth = 6;
  g.strokeStyle = 'rgba(16, 21, 28, 0.85)';
  g.strokeText(text, c.width / 2, c.height / 2);
  g.fillStyle = '#aebcd0';
  g.fillText(text, c.width / 2, c.height / 2);
  return g.getImageData(0, 0, c.width, c.height);
}

// style is the map's style: the background, the tile server's tiles when
// there is one, the districts (shown when districts is set) and the
// cameras on top.
function style(tiles: string, districts: boolean): maplibregl.StyleSpecification {
  const s: maplibregl.StyleSpecification = {
    version: 8,
    sources: {
      cams: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      // Tiled at zoom 8 at most (about 20 m a unit, finer than the
      // outlines' 150 m cells) and overscaled above: the city is one or
      // two tiles, so a pan loads none.
      districts: { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, maxzoom: 8 },
    },
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#1c2430' } }],
  };
  if (tiles) {
    s.sources.tiles = { type: 'raster', tiles: [tiles], tileSize: 256, maxzoom: 19 };
    s.layers.push({ id: 'tiles', type: 'raster', source: 'tiles' });
  }
  const visibility = districts ? 'visible' : 'none';
  s.layers.push(
    {
      id: 'districts-fill', type: 'fill', source: 'districts', filter: ['==', ['geometry-type'], 'Polygon'],
      // Opaque over the plain background (software-rendered browsers draw
      // an opaque layer much faster); see-through over tiles. The line
      // layer draws the edges, so the fill is not antialiased.
      layout: { visibility }, paint: { 'fill-color': ['get', 'fill'], 'fill-opacity': tiles ? 0.45 : 1, 'fill-antialias': false },
    },
    {
      id: 'districts-line', type: 'line', source: 'districts', filter: ['==', ['geometry-type'], 'Polygon'],
      layout: { visibility, 'line-join': 'round' }, paint: { 'line-color': '#5b6c84', 'line-width': 1.5 },
    },
    {
      // Each district's name (labelImage) at its centre; names that would
      // overlap are left out.
      id: 'districts-label', type: 'symbol', source: 'districts', filter: ['==', ['geometry-type'], 'Point'],
      layout: { visibility, 'icon-image': ['get', 'label'], 'icon-ignore-placement': true },
    },
    {
      id: 'cams-selected', type: 'circle', source: 'cams', filter: ['==', ['get', 'selected'], true],
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 9, 16, 13], 'circle-color': '#ffffff' },
    },
    {
      // Each camera's mark (markImage), one image per class.
      id: 'cams', type: 'symbol', source: 'cams',
      layout: {
        'icon-image': ['concat', 'mark-', ['get', 'cls']],
        'icon-size': ['interpolate', ['linear'], ['zoom'], 10, 0.6, 16, 1],
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
        // Failing and alerting cameras on top.
        'symbol-sort-key': ['match', ['get', 'cls'], 'alerting', 3, 'trouble', 2, 1],
      },
    },
  );
  return s;
}

// trouble says how many cameras are offline and alerting, when any are.
function trouble(offline: number, alerting: number): string {
  const parts = [offline ? `${offline.toLocaleString()} offline` : '', alerting ? `${alerting.toLocaleString()} alerting` : ''].filter(Boolean);
  return parts.length ? '; ' + parts.join(', ') : '';
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
  // badge draws a count in a pill of a class's colour, prefixed with its
  // sign (✕ offline, ! alerting) so that it is not told by colour alone.
  const badge = (g: CanvasRenderingContext2D, x: number, y: number, text: string, cls: MapClass) => {
    g.save();
    g.font = 'bold 10px system-ui, sans-serif';
    const w = Math.max(16, g.measureText(text).width + 8);
    g.beginPath();
    g.roundRect(x - w / 2, y - 8, w, 16, 8);
    g.fillStyle = mapClasses[cls].colour;
    g.fill();
    g.strokeStyle = '#10151c';
    g.stroke();
    g.fillStyle = cls === 'alerting' ? '#1c1300' : '#ffffff';
    g.fillText(text, x, y + 1);
    g.restore();
  };
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
      if (c.offline) badge(g, p.x + r * 0.8, p.y - r * 0.8, '✕ ' + countLabel(c.offline), 'trouble');
      if (c.alerting) badge(g, p.x - r * 0.8, p.y - r * 0.8, '! ' + countLabel(c.alerting), 'alerting');
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
  const card = h('div', { class: 'card', hidden: true, draggable: 'true', ondragstart: (ev: Event) => dragCamera(ev as DragEvent, card.dataset.camera ?? '') });
  const info = h('p', { class: 'muted', role: 'status' });
  const wallBtn = h('button', { type: 'button', class: 'secondary', title: 'Put the cameras in view (up to 16) on the wall' }, 'Open the cameras in view on the wall');
  const selectBtn = h('button', {
    type: 'button', class: 'secondary', 'aria-pressed': 'false', 'data-action': 'select-area',
    title: `Drag a rectangle on the map to open its cameras (up to ${wallMax}) on the wall (key S; Shift-drag works at any time; Esc cancels)`,
  }, 'Select area');
  const list = cameraList((c) => focus(c), 'Click a camera to find it on the map.');
  list.querySelector('ul')!.before(info, h('div', { class: 'actions' }, wallBtn, selectBtn), card, h('hr'));
  const tiles = tileURL();
  const districtsBox = h('input', { type: 'checkbox', name: 'districts' });
  districtsBox.checked = !tiles;
  const districtsToggle = h('label', { class: 'map-toggle', title: 'The districts of the camera directory under the cameras' }, districtsBox, ' Districts');
  const legend = h('div', { class: 'legend map-legend', role: 'list', 'aria-label': 'Camera states' },
    ...(['online', 'connecting', 'trouble', 'alerting', 'idle'] as const).map((cls) =>
      h('span', { role: 'listitem', 'data-class': cls }, markIcon(cls), ' ', mapClasses[cls].label)),
    h('span', { role: 'listitem', 'data-class': 'cluster' }, h('span', { class: 'dot cluster' }), ' cluster: cameras, ✕ offline, ! alerting'));
  root.append(list, h('section', { class: 'map-pane' }, container, districtsToggle, legend));

  const map = new maplibregl.Map({
    container, style: style(tiles, districtsBox.checked), center: [0, 20], zoom: 1, attributionControl: false, maxPitch: 0, dragRotate: false, fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  // Shift-drag selects an area (below), instead of zooming to a box.
  map.boxZoom.disable();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  const clusters = clusterLayer(map);

  let points: Camera[] = [];
  // Each listed camera's ingest state and whether it is alerting, from the
  // listing.
  const states = new Map<string, { state: string; alerting: boolean }>();
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
      properties: {
        id: c.id, name: c.name, state: states.get(c.id)?.state ?? 'unknown',
        cls: mapClass(states.get(c.id)?.state, states.get(c.id)?.alerting), selected: c.id === selected,
      },
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

  // update draws the view: the grid's clusters, or the points of its
  // cameras with their states. A refresh (of the states of a view of
  // points) is not a move: it is not measured.
  async function update(refresh = false) {
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
        const off = inView.reduce((s, c) => s + (c.offline ?? 0), 0);
        const alerts = inView.reduce((s, c) => s + (c.alerting ?? 0), 0);
        info.textContent = `${total.toLocaleString()} cameras in view, in ${inView.length.toLocaleString()} clusters${trouble(off, alerts)}. Zoom in to see each camera.`;
        if (!refresh) drawn(n, moved, requested, answered);
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
      for (const c of points) states.set(c.id, { state: c.state ?? 'unknown', alerting: !!c.alerting });
      setPoints();
      if (!refresh) drawn(n, moved, requested, performance.now());
      const off = points.filter((c) => mapClass(c.state) === 'trouble').length;
      const alerts = points.filter((c) => c.alerting).length;
      info.textContent = `${points.length} camera${points.length === 1 ? '' : 's'} in view${trouble(off, alerts)}.`;
      if (selected && card.dataset.camera === selected && states.has(selected)) showState(selected);
    } catch (e) {
      if (n === seq) info.textContent = errorText(e);
    }
  }

  // loadDistricts draws the directory's districts, once: a filled outline
  // and the name (with the count of cameras the user may see) at its centre.
  async function loadDistricts() {
    try {
      const list = await json<{ items: District[] }>('/api/v1/districts');
      if (destroyed) return;
      const features: Feature[] = [];
      list.items.forEach((d, i) => {
        const ring = d.outline.map((p) => [p.lon, p.lat]);
        if (ring.length < 3) return;
        ring.push(ring[0]);
        const label = 'district-' + i;
        map.addImage(label, labelImage(`${d.name} · ${countLabel(d.cameras)}`), { pixelRatio: 2 });
        features.push(
          { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { name: d.name, fill: districtFills[i % districtFills.length] } },
          { type: 'Feature', geometry: { type: 'Point', coordinates: [d.center.lon, d.center.lat] }, properties: { name: d.name, label } });
      });
      (map.getSource('districts') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
      container.dataset.districts = String(features.length / 2);
    } catch (e) {
      console.warn('districts:', errorText(e));
    }
  }

  function showDistricts(on: boolean) {
    for (const id of districtLayers) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    container.dataset.districtsShown = String(on);
  }

  // openArea opens the cameras in a box (west, south, east, north) on the
  // wall, replacing what it showed: the first wallMax in id order, in the
  // smallest layout that holds them, saying how many were left out.
  async function openArea(box: number[]) {
    const bbox = box.map((v) => v.toFixed(6)).join(',');
    container.dataset.selection = bbox;
    try {
      const [page, grid] = await Promise.all([
        json<Page<Camera>>('/api/v1/cameras?' + qs({ bbox, limit: wallMax })),
        json<{ cells: GridCell[] }>('/api/v1/cameras/grid?' + qs({ bbox, zoom: 0 })),
      ]);
      if (destroyed) return;
      if (!page.items.length) { say('No camera you may see is in that area.', 'info'); return; }
      const total = Math.max(page.items.length, grid.cells.reduce((n, c) => n + c.count, 0));
      const left = total - page.items.length;
      remember(page.items);
      openOnWall(ctx.user.id, page.items.map((c) => c.id));
      say(left > 0
        ? `${page.items.length} of the ${total.toLocaleString()} cameras in the area are on the wall; ${left.toLocaleString()} left out (the wall holds ${wallMax}).`
        : `The ${total === 1 ? 'camera' : `${total} cameras`} in the area ${total === 1 ? 'is' : 'are'} on the wall.`, 'info');
      location.hash = '#/wall';
    } catch (e) {
      say(errorText(e));
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
      if (!states.has(id)) {
        // Not among the points in view (picked from the list at city zoom).
        try {
          const hl = await json<Health>(cameraPath(id) + '/health');
          states.set(id, { state: hl.state, alerting: !!c.alerting });
        } catch { /* unknown */ }
      }
      if (selected !== id) return;
      card.dataset.camera = id;
      card.replaceChildren(
        h('h3', {}, c.name),
        h('p', { class: 'map-state' }),
        h('p', { class: 'muted' }, [c.id, c.address, c.district, c.org_id].filter(Boolean).join(' · ')),
        h('p', { class: 'muted' }, (c.tags ?? []).join(', ')),
        h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => { addToWall(ctx.user.id, id); location.hash = '#/wall'; } }, 'Watch on the wall'),
          h('button', { type: 'button', class: 'secondary', onclick: () => { addToWall(ctx.user.id, id); say(`${c.name} is on the wall.`, 'info'); } }, 'Add to wall'),
          h('a', { class: 'button secondary', href: '#/playback/' + encodeURIComponent(id) }, 'Playback')));
      showState(id);
    } catch (e) {
      card.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    }
  }

  // showState says the selected camera's state on its card, in words and
  // with its mark.
  function showState(id: string) {
    const el = card.querySelector<HTMLElement>('.map-state');
    if (!el) return;
    const st = states.get(id);
    const cls = mapClass(st?.state, st?.alerting);
    el.dataset.class = cls;
    el.dataset.state = st?.state ?? 'unknown';
    const words = stateWords[st?.state ?? ''] ?? 'State unknown.';
    el.replaceChildren(markIcon(cls), ' ', st?.alerting ? 'Alerting: an alert is not acknowledged. ' + words : words);
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
  map.on('load', () => {
    for (const cls of Object.keys(mapClasses) as MapClass[]) map.addImage('mark-' + cls, markImage(cls), { pixelRatio: 2 });
    fit();
    loadDistricts();
  });
  districtsBox.addEventListener('change', () => showDistricts(districtsBox.checked));
  container.dataset.districtsShown = String(districtsBox.checked);

  // Selecting an area: in select mode a drag, and at any time a
  // Shift-drag, draws a rectangle instead of panning (maplibre never sees
  // the press); letting go opens its cameras on the wall.
  let selecting = false;
  let swallowClick = false;
  const band = h('div', { class: 'map-select', hidden: true });
  container.append(band);
  function setSelecting(on: boolean) {
    selecting = on;
    selectBtn.setAttribute('aria-pressed', String(on));
    container.classList.toggle('selecting', on);
  }
  selectBtn.addEventListener('click', () => setSelecting(!selecting));
  container.addEventListener('mousedown', (ev) => {
    if (ev.button !== 0 || !(selecting || ev.shiftKey) || !(ev.target as HTMLElement).closest('.maplibregl-canvas-container')) return;
    ev.preventDefault();
    ev.stopPropagation();
    const r = container.getBoundingClientRect();
    const x0 = ev.clientX - r.left;
    const y0 = ev.clientY - r.top;
    let x1 = x0;
    let y1 = y0;
    const move = (e: MouseEvent) => {
      x1 = clamp(e.clientX - r.left, 0, r.width);
      y1 = clamp(e.clientY - r.top, 0, r.height);
      Object.assign(band.style, {
        left: Math.min(x0, x1) + 'px', top: Math.min(y0, y1) + 'px', width: Math.abs(x1 - x0) + 'px', height: Math.abs(y1 - y0) + 'px',
      });
      band.hidden = false;
    };
    const up = (e: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      move(e);
      band.hidden = true;
      setSelecting(false);
      swallowClick = true;
      if (Math.abs(x1 - x0) < 4 || Math.abs(y1 - y0) < 4) return;
      const sw = map.unproject([Math.min(x0, x1), Math.max(y0, y1)]);
      const ne = map.unproject([Math.max(x0, x1), Math.min(y0, y1)]);
      openArea([clamp(sw.lng, -180, 180), clamp(sw.lat, -85, 85), clamp(ne.lng, -180, 180), clamp(ne.lat, -85, 85)]);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }, true);
  // The click that ends a selection is not a click on the map.
  container.addEventListener('click', (ev) => {
    if (swallowClick) ev.stopPropagation();
    swallowClick = false;
  }, true);
  const onKey = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || (ev.target as HTMLElement).closest('input, textarea, select, dialog, [popover]')) return;
    if (ev.key === 's' || ev.key === 'S') setSelecting(!selecting);
    else if (ev.key === 'Escape' && selecting) setSelecting(false);
    else return;
    ev.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  // A view of points asks again for its cameras' states now and then; a
  // view of clusters gets new counts with the grid (gridTTL).
  const refresher = window.setInterval(() => {
    if (container.dataset.mode === 'points' && !document.hidden) update(true);
  }, pointsRefresh);
  map.on('idle', () => {
    const rendered = map.queryRenderedFeatures({ layers: ['cams'] });
    container.dataset.rendered = String(rendered.length);
    // How many of each class are drawn (data-trouble, data-online, …).
    const n: Record<string, number> = {};
    for (const f of rendered) n[f.properties.cls] = (n[f.properties.cls] ?? 0) + 1;
    for (const cls of Object.keys(mapClasses)) container.dataset[cls] = String(n[cls] ?? 0);
  });
  map.on('error', (e) => console.warn('map:', e.error?.message));

  wallBtn.addEventListener('click', () => {
    if (!points.length) { say('Zoom in until the cameras show as points, then try again.', 'info'); return; }
    for (const c of points.slice(0, 16)) addToWall(ctx.user.id, c.id);
    location.hash = '#/wall';
  });

  return () => {
    destroyed = true;
    clearInterval(refresher);
    document.removeEventListener('keydown', onKey);
    map.remove();
  };
}
