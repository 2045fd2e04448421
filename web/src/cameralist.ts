// The camera list beside the wall and the playback view: a search box
// (name, address or id, 3+ characters) and the matching cameras. Each can be
// dragged (onto a wall tile) as text/x-argus-camera.

import { searchCameras, type Camera } from './api';
import { errorText, h } from './dom';

/** cameraType is the drag and drop data type of a camera id. */
export const cameraType = 'text/x-argus-camera';

/** dragCamera makes a drag carry a camera id (and the id as plain text). */
export function dragCamera(ev: DragEvent, id: string): void {
  if (!ev.dataTransfer || !id) return;
  ev.dataTransfer.setData(cameraType, id);
  ev.dataTransfer.setData('text/plain', id);
  ev.dataTransfer.effectAllowed = 'copyMove';
}

/** cameraList builds the list; pick is called with the camera clicked. */
export function cameraList(pick: (c: Camera) => void, hint: string): HTMLElement {
  const input = h('input', { type: 'search', placeholder: 'Search cameras (3+ letters)', 'aria-label': 'Search cameras' });
  const ul = h('ul', { class: 'cameras', 'aria-label': 'Cameras' });
  const status = h('p', { class: 'muted', role: 'status' });
  let seq = 0;
  const load = async (q: string) => {
    const n = ++seq;
    try {
      const items = await searchCameras(q);
      if (n !== seq) return;
      ul.replaceChildren(...items.map((c) => h('li', {},
        h('button', {
          type: 'button', 'data-camera': c.id, title: hint, draggable: 'true',
          onclick: () => pick(c), ondragstart: (ev: Event) => dragCamera(ev as DragEvent, c.id),
        },
          c.name, h('small', {}, [c.id, c.address, c.district].filter(Boolean).join(' · '))))));
      status.textContent = items.length ? '' : 'No camera matches.';
    } catch (e) {
      if (n === seq) status.textContent = errorText(e);
    }
  };
  let timer = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    timer = window.setTimeout(() => load(q.length >= 3 ? q : ''), 250);
  });
  load('');
  return h('aside', { class: 'sidebar' }, input, h('p', { class: 'muted hint' }, hint), status, ul);
}
