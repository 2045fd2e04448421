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
      cells: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
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
      id: 'cells', type: 'circle', source: 'cells',
      paint: {
        'circle-color': '#3d7bd9', 'circle-opacity': 0.8, 'circle-stroke-color': '#cfe0ff', 'circle-stroke-width': 1,
        'circle-radius': ['interpolate', ['linear'], ['ln', ['get', 'count']], 0, 8, 4, 14, 12, 26],
      },
    },
    {
      id: 'cell-counts', type: 'symbol', source: 'cells',
      layout: { 'icon-image': ['concat', 'count-', ['get', 'label']], 'icon-allow-overlap': true, 'icon-ignore-placement': true },
    },
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

// countImage draws a cluster's count as an image: a style without glyphs
// (no font server offline) cannot draw text, but it can draw icons.
function countImage(label: string): ImageData {
  const dpr = 2;
  const w = (label.length * 8 + 6) * dpr;
  const hgt = 16 * dpr;
  const c = document.createElement('canvas');
  c.width = w;
  c.height = hgt;
  const g = c.getContext('2d')!;
  g.font = `bold ${12 * dpr}px system-ui, sans-serif`;
  g.fillStyle = '#fff';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(label, w / 2, hgt / 2 + dpr);
  return g.getImageData(0, 0, w, hgt);
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
    container, style: style(tileURL()), center: [0, 20], zoom: 1, attributionControl: false, maxPitch: 0, dragRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.setMissingStyleImageResolver((id) => {
    try {
      if (id.startsWith('count-') && !map.hasImage(id)) map.addImage(id, countImage(id.slice(6)), { pixelRatio: 2 });
    } catch (e) {
      console.warn('map: cannot draw', id, e);
    }
  });

  let points: Camera[] = [];
  const states = new Map<string, string>();
  let selected = '';
  let seq = 0;
  let timer = 0;
  let destroyed = false;

  function setPoints() {
    const features = points.map((c) => ({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [c.lon, c.lat] },
      properties: { id: c.id, name: c.name, state: states.get(c.id) ?? 'unknown', selected: c.id === selected },
    }));
    (map.getSource('cams') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
    container.dataset.cameras = String(points.length);
  }

  async function update() {
    const n = ++seq;
    const b = map.getBounds();
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)]
      .map((v) => v.toFixed(6)).join(',');
    const zoom = clamp(Math.round(map.getZoom()), 0, 22);
    try {
      const grid = await json<{ cells: GridCell[] }>('/api/v1/cameras/grid?' + qs({ bbox, zoom }));
      if (n !== seq || destroyed) return;
      const total = grid.cells.reduce((s, c) => s + c.count, 0);
      const cells = map.getSource('cells') as maplibregl.GeoJSONSource;
      if (total > maxPoints) {
        container.dataset.mode = 'clusters';
        points = [];
        setPoints();
        cells.setData({
          type: 'FeatureCollection',
          features: grid.cells.map((c) => ({
            type: 'Feature' as const,
            geometry: { type: 'Point' as const, coordinates: [c.lon, c.lat] },
            properties: { count: c.count, label: countLabel(c.count), camera_id: c.camera_id ?? '' },
          })),
        });
        info.textContent = `${total.toLocaleString()} cameras in view, in ${grid.cells.length.toLocaleString()} clusters. Zoom in to see each camera.`;
        return;
      }
      const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ bbox, limit: maxPoints }));
      if (n !== seq || destroyed) return;
      container.dataset.mode = 'points';
      cells.setData({ type: 'FeatureCollection', features: [] });
      remember(page.items);
      points = page.items;
      setPoints();
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
  const schedule = () => { clearTimeout(timer); timer = window.setTimeout(update, 120); };

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
    schedule();
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
  map.on('click', 'cells', (e) => {
    const f = e.features?.[0];
    if (!f) return;
    if (f.properties.camera_id) select(String(f.properties.camera_id));
    const [lon, lat] = (f.geometry as { coordinates: number[] }).coordinates;
    map.easeTo({ center: [lon, lat], zoom: map.getZoom() + 2 });
  });
  for (const layer of ['cams', 'cells']) {
    map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('moveend', schedule);
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
    clearTimeout(timer);
    map.remove();
  };
}
