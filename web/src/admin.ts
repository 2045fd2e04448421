// Administration: organisations, users, cameras (a form and CSV import with
// its per-row report), shares (grant with scope, area, validity and purpose;
// revoke), evidence holds, and the camera owner's view of who may access a
// camera. Organisations, users and cameras can be deleted, each after a
// confirmation that names it and says what deleting it does. Each tab has its address, #/admin/<tab>; #/admin/access/<camera>
// opens the owner's view of one camera. What the caller may not do, the API
// refuses, and the tab says so in words.

import * as maplibregl from 'maplibre-gl';
import { api, ApiError, cameraPath, json, post, qs, type Camera, type Page } from './api';
import { ask, errorText, h, say } from './dom';
import { clearErrors, field, formFoot, input, list, select, showError, table, toLocalInput, toRFC3339, when } from './forms';
import type { Ctx } from './main';

interface Org { id: string; name: string; kind: string; parent_id?: string; quota_bytes?: number }
interface UserRow { id: string; username: string; display_name?: string; org_id: string; role: string; disabled: boolean; provider?: string }
interface Area { bbox?: number[]; polygon?: number[][] }
interface Share {
  id: string; owner_org_id: string; grantee_org_id: string; camera_ids?: string[]; tags?: string[]; area?: Area;
  actions: string[]; valid_from: string; valid_until: string; purpose: string; created_by?: string;
  revoked_at?: string; revoked_by?: string; revoke_reason?: string;
}
interface Hold {
  id: string; camera_id: string; from: string; to: string; reason: string; org_id: string; created_by: string;
  created_at: string; released_at?: string; released_by?: string; release_reason?: string;
}
interface Holder { org_id: string; via: string; share_id?: string; actions?: string[]; valid_from?: string; valid_until?: string; purpose?: string; active: boolean }
interface ImportReport { rows: number; imported: number; skipped: number; more_errors: number; errors: { row: number; line: number; field?: string; code: string; message: string }[] }

const kinds = ['police', 'fire', 'traffic', 'city', 'private', 'other'];
const roles = ['viewer', 'operator', 'investigator', 'org_admin', 'auditor', 'admin'];
const shareActions: [string, string][] = [
  ['video.live', 'live'], ['video.playback', 'playback'], ['video.export', 'export'], ['camera.ptz', 'PTZ']];

const tabs: [string, string, (pane: HTMLElement, ctx: Ctx, arg: string) => Promise<void>][] = [
  ['orgs', 'Organisations', orgsTab],
  ['users', 'Users', usersTab],
  ['cameras', 'Cameras', camerasTab],
  ['shares', 'Shares', sharesTab],
  ['holds', 'Evidence holds', holdsTab],
  ['access', 'Camera access', accessTab],
];

export function mountAdmin(root: HTMLElement, arg: string, ctx: Ctx): () => void {
  const [tab0, ...rest] = arg.split('/');
  const tab = tabs.find(([id]) => id === tab0) ?? tabs[0];
  const pane = h('div', { class: 'admin-pane', 'data-tab': tab[0] });
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Administration' },
    ...tabs.map(([id, label]) => h('a', { href: '#/admin/' + id, 'aria-current': String(id === tab[0]) }, label)));
  root.append(h('div', { class: 'admin' }, nav, pane));
  const cleanups: (() => void)[] = [];
  (pane as HTMLElement & { cleanups?: (() => void)[] }).cleanups = cleanups;
  tab[2](pane, ctx, rest.join('/')).catch((e) => pane.append(h('p', { class: 'error' }, errorText(e))));
  return () => { for (const f of cleanups) f(); };
}

function onUnmount(pane: HTMLElement, f: () => void): void {
  (pane as HTMLElement & { cleanups?: (() => void)[] }).cleanups?.push(f);
}

// section is a titled part of a tab whose body is filled by load; a failure
// (a 403 for a role that may not) is said in its place.
function section(title: string, cls = ''): { el: HTMLElement; body: HTMLElement; run: (load: () => Promise<Node | void>) => Promise<void> } {
  const body = h('div', { class: 'section-body' });
  const el = h('section', { class: 'admin-section ' + cls }, h('h2', {}, title), body);
  return {
    el, body,
    run: async (load) => {
      try {
        const n = await load();
        if (n) body.replaceChildren(n);
      } catch (e) {
        body.replaceChildren(h('p', { class: 'muted denied' }, errorText(e)));
      }
    },
  };
}

async function orgs(): Promise<Org[]> {
  try {
    return (await json<{ items: Org[] }>('/api/v1/orgs')).items;
  } catch {
    return [];
  }
}

function orgOptions(items: Org[], ctx: Ctx, blank = ''): [string, string][] {
  const o: [string, string][] = items.map((x) => [x.id, `${x.name} (${x.id})`]);
  if (!items.some((x) => x.id === ctx.user.org_id)) o.unshift([ctx.user.org_id, ctx.user.org_id]);
  if (blank) o.unshift(['', blank]);
  return o;
}

function button(label: string, onclick: () => void, cls = 'secondary small', attrs: Record<string, string> = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: cls, onclick, ...attrs }, label);
}

// confirmDelete asks, in a modal dialog that names what is deleted and
// says what follows, whether to go on; it resolves to the answer.
function confirmDelete(title: string, consequence: string): Promise<boolean> {
  return new Promise((resolve) => {
    let yes = false;
    const dlg = h('dialog', { class: 'ask confirm', 'aria-label': title },
      h('h2', {}, title),
      h('p', {}, consequence),
      h('menu', {},
        h('button', { type: 'button', class: 'secondary', 'data-answer': 'cancel', onclick: () => dlg.close() }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', 'data-answer': 'delete', onclick: () => { yes = true; dlg.close(); } }, 'Delete')));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(yes); });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector<HTMLButtonElement>('[data-answer=cancel]')!.focus();
  });
}

// deleter returns a function that, once confirmed, deletes what path names
// and calls done; the API's refusal (an organisation that still owns
// cameras, a user deleting themselves) is said in words in out.
function deleter(out: HTMLElement, done: () => Promise<void>) {
  return async (path: string, title: string, consequence: string, deleted: string) => {
    out.textContent = '';
    if (!await confirmDelete(title, consequence)) return;
    try {
      await api(path, { method: 'DELETE' });
      say(deleted, 'info');
      await done();
    } catch (e) {
      out.textContent = errorText(e);
    }
  };
}

// deleteError is the place in a section where a refused deletion is said.
function deleteError(s: { el: HTMLElement }): HTMLElement {
  const out = h('p', { class: 'error delete-error', role: 'alert' });
  s.el.querySelector('h2')!.after(out);
  return out;
}

// ---- organisations

async function orgsTab(pane: HTMLElement, ctx: Ctx): Promise<void> {
  const s = section('Organisations');
  const f = h('form', { class: 'admin-form', 'data-form': 'org' });
  pane.append(h('section', { class: 'admin-section' }, h('h2', {}, 'Add or change an organisation'), f), s.el);
  let editing = '';
  const del = deleter(deleteError(s), () => reload());
  const reload = async () => {
    const items = await orgs();
    draw(items);
    await s.run(async () => table(['id', 'name', 'kind', 'parent', 'quota', ''], items.map((o) => [
      o.id, o.name, o.kind, o.parent_id ?? '', o.quota_bytes ? `${(o.quota_bytes / 2 ** 30).toFixed(1)} GiB` : '',
      h('span', { class: 'row-actions' },
        button('Edit', () => { editing = o.id; draw(items, o); f.scrollIntoView(); }),
        button('Delete', () => del('/api/v1/orgs/' + encodeURIComponent(o.id), `Delete the organisation ${o.name} (${o.id})?`,
          'It is removed for good. argus refuses while it still owns cameras, has users or has organisations below it: ' +
          'delete or move those first. The shares it granted or received, the evidence holds and the audit records that name it are kept.',
          `Organisation ${o.name} deleted.`), 'secondary small', { 'data-delete': o.id })),
    ]), 'You may see no organisation.'));
  };
  const draw = (items: Org[], o?: Org) => {
    f.replaceChildren(
      field('Id', input('id', { value: o?.id ?? '', placeholder: 'generated when empty', disabled: !!o, pattern: '[a-z0-9][a-z0-9._-]*' })),
      field('Name', input('name', { value: o?.name ?? '', required: true })),
      field('Kind', select('kind', kinds.map((k) => [k, k]), o?.kind ?? 'city')),
      field('Parent', select('parent_id', orgOptions(items, ctx, '(none)').filter(([id]) => id !== o?.id), o?.parent_id ?? '')),
      field('Quota (GiB)', input('quota_bytes', { type: 'number', min: 0, step: 'any', value: o?.quota_bytes ? o.quota_bytes / 2 ** 30 : '' }), 'of recordings; empty: none'),
      formFoot(o ? 'Save ' + o.id : 'Create organisation', o ? button('Cancel', () => { editing = ''; draw(items); }) : null));
  };
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const d = new FormData(f);
    const gib = Number(d.get('quota_bytes') || 0);
    const body = {
      name: d.get('name'), kind: d.get('kind'), parent_id: d.get('parent_id') || undefined,
      quota_bytes: gib > 0 ? Math.round(gib * 2 ** 30) : undefined,
    };
    try {
      if (editing) await json('/api/v1/orgs/' + encodeURIComponent(editing), jsonInit('PUT', body));
      else await post('/api/v1/orgs', { id: d.get('id') || undefined, ...body });
      say(editing ? `Organisation ${editing} saved.` : `Organisation ${body.name} created.`, 'info');
      editing = '';
      await reload();
    } catch (e) {
      showError(f, e);
    }
  });
  await reload();
}

function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

// ---- users

async function usersTab(pane: HTMLElement, ctx: Ctx): Promise<void> {
  const s = section('Users');
  const f = h('form', { class: 'admin-form', 'data-form': 'user' });
  pane.append(h('section', { class: 'admin-section' }, h('h2', {}, 'Add or change a user'), f), s.el);
  const orgItems = await orgs();
  let editing: UserRow | undefined;
  const draw = (u?: UserRow) => {
    editing = u;
    f.replaceChildren(
      field('User name', input('username', { value: u?.username ?? '', required: true, autocomplete: 'off' })),
      field('Name', input('display_name', { value: u?.display_name ?? '' })),
      field('Organisation', select('org_id', orgOptions(orgItems, ctx), u?.org_id ?? ctx.user.org_id)),
      field('Role', select('role', roles.map((r) => [r, r]), u?.role ?? 'viewer')),
      field('Password', input('password', { type: 'password', autocomplete: 'new-password', minlength: 12, required: !u }),
        u ? 'empty: unchanged' : '12 characters or more'),
      h('label', { class: 'check', 'data-field': 'disabled' }, input('disabled', { type: 'checkbox', checked: !!u?.disabled }), ' disabled (cannot sign in)'),
      formFoot(u ? 'Save ' + u.username : 'Create user', u ? button('Cancel', () => draw()) : null));
  };
  const body = (u: Partial<UserRow> & { password?: string }) => ({
    username: u.username, display_name: u.display_name ?? '', org_id: u.org_id, role: u.role, disabled: !!u.disabled,
    password: u.password || undefined,
  });
  const del = deleter(deleteError(s), () => reload());
  const reload = () => s.run(async () => {
    const { items } = await json<{ items: UserRow[] }>('/api/v1/users');
    return table(['id', 'user name', 'name', 'organisation', 'role', 'state', ''], items.map((u) => [
      u.id, u.username, u.display_name ?? '', u.org_id, u.role, u.disabled ? 'disabled' : 'active',
      h('span', { class: 'row-actions' },
        button('Edit', () => { draw(u); f.scrollIntoView(); }),
        button(u.disabled ? 'Enable' : 'Disable', async () => {
          try {
            await json('/api/v1/users/' + encodeURIComponent(u.id), jsonInit('PUT', body({ ...u, disabled: !u.disabled })));
            say(`${u.username} is ${u.disabled ? 'enabled' : 'disabled'}.`, 'info');
            await reload();
          } catch (e) { say(errorText(e)); }
        }),
        u.id === ctx.user.id ? null : button('Delete', () => del('/api/v1/users/' + encodeURIComponent(u.id),
          `Delete the user ${u.username}${u.display_name ? ` (${u.display_name})` : ''}?`,
          'Their sessions and API tokens are revoked at once, so they are signed out everywhere and cannot sign in again. ' +
          'Their records in the audit log are kept. To keep the account but stop its use, disable it instead.',
          `User ${u.username} deleted.`), 'secondary small', { 'data-delete': u.id })),
    ]));
  });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const d = new FormData(f);
    const b = body({
      username: String(d.get('username')), display_name: String(d.get('display_name')), org_id: String(d.get('org_id')),
      role: String(d.get('role')), disabled: d.get('disabled') === 'on', password: String(d.get('password') ?? ''),
    });
    try {
      if (editing) await json('/api/v1/users/' + encodeURIComponent(editing.id), jsonInit('PUT', b));
      else await post('/api/v1/users', b);
      say(`User ${b.username} ${editing ? 'saved' : 'created'}.`, 'info');
      draw();
      await reload();
    } catch (e) {
      showError(f, e);
    }
  });
  draw();
  await reload();
}

// ---- cameras

async function camerasTab(pane: HTMLElement, ctx: Ctx): Promise<void> {
  const s = section('Cameras');
  const search = h('input', { type: 'search', placeholder: 'Search by name, address or id (3+ letters)' });
  const f = h('form', { class: 'admin-form', 'data-form': 'camera' });
  const imp = h('form', { class: 'admin-form', 'data-form': 'import' });
  const report = h('div', { class: 'import-report' });
  pane.append(
    h('section', { class: 'admin-section' }, h('h2', {}, 'Add a camera'), f),
    h('section', { class: 'admin-section' }, h('h2', {}, 'Import cameras from CSV'),
      h('p', { class: 'muted hint' }, 'A header line, then one camera a line. Required columns: name, org_id, lat, lon, stream_url; optional: id, address, district, tags (a;b), sub_stream_url, onvif_url, username, password, transport, recording, retention_days, retention_bytes, labels (k=v;k=v).'),
      imp, report),
    s.el);
  const orgItems = await orgs();
  f.append(
    field('Id', input('id', { placeholder: 'generated when empty' })),
    field('Name', input('name', { required: true })),
    field('Organisation', select('org_id', orgOptions(orgItems, ctx), ctx.user.org_id)),
    field('Latitude', input('lat', { type: 'number', step: 'any', required: true, min: -90, max: 90 })),
    field('Longitude', input('lon', { type: 'number', step: 'any', required: true, min: -180, max: 180 })),
    field('Address', input('address')),
    field('District', input('district')),
    field('Tags', input('tags', { placeholder: 'intersection, ptz' })),
    field('Stream URL', input('stream_url', { placeholder: 'rtsp://user:pass@10.1.2.3/stream1', required: true })),
    field('Retention (days)', input('retention_days', { type: 'number', min: 0, max: 3650, value: 30 })),
    h('label', { class: 'check', 'data-field': 'recording' }, input('recording', { type: 'checkbox', checked: true }), ' record'),
    formFoot('Add camera'));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const d = new FormData(f);
    const str = (k: string) => String(d.get(k) ?? '').trim() || undefined;
    try {
      const c = await post<Camera>('/api/v1/cameras', {
        id: str('id'), name: str('name'), org_id: str('org_id'), lat: Number(d.get('lat')), lon: Number(d.get('lon')),
        address: str('address'), district: str('district'), tags: list(String(d.get('tags') ?? '')),
        stream_url: str('stream_url'), recording: d.get('recording') === 'on', retention_days: Number(d.get('retention_days') || 0),
      });
      say(`Camera ${c.name} (${c.id}) added.`, 'info');
      f.reset();
      await reload();
    } catch (e) {
      showError(f, e);
    }
  });

  const file = input('file', { type: 'file', accept: '.csv,text/csv', required: true });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  imp.append(
    field('CSV file', file),
    field('Mode', select('mode', [['all-or-nothing', 'all or nothing: any bad row imports nothing'], ['skip-bad', 'import the good rows, report the bad']])),
    h('label', { class: 'check' }, input('ignore_unknown_columns', { type: 'checkbox' }), ' ignore columns argus does not know'),
    formFoot('Import', progress));
  imp.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(imp);
    const d = new FormData(imp);
    const blob = file.files?.[0];
    if (!blob) return;
    const url = '/api/v1/cameras/import?' + qs({ mode: String(d.get('mode')), ignore_unknown_columns: d.get('ignore_unknown_columns') ? 'true' : undefined });
    report.replaceChildren(h('p', { class: 'muted' }, `Uploading ${blob.name}…`));
    progress.hidden = false;
    progress.removeAttribute('value');
    try {
      const { status, body } = await upload(url, blob, (sent) => {
        progress.value = sent / blob.size;
        if (sent >= blob.size) {
          progress.removeAttribute('value'); // uploaded: the server imports
          report.replaceChildren(h('p', { class: 'muted' }, `Importing ${blob.name}…`));
        }
      });
      const r: ImportReport | undefined = body?.report ?? (status === 200 ? body : undefined);
      const head = status === 200
        ? h('p', { class: 'import-summary ok' }, `${r?.imported ?? 0} of ${r?.rows ?? 0} rows imported${r?.skipped ? `, ${r.skipped} skipped` : ''}.`)
        : h('p', { class: 'import-summary error' }, body?.error?.message ? sentence(body.error.message) : `The import failed (${status}).`);
      report.replaceChildren(head);
      if (r?.errors?.length) {
        report.append(table(['row', 'line', 'column', 'problem'], r.errors.map((x) => [String(x.row), String(x.line), x.field ?? '', sentence(x.message)])));
        if (r.more_errors) report.append(h('p', { class: 'muted' }, `… and ${r.more_errors} more.`));
      }
      if (status === 200) await reload();
    } catch (e) {
      report.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    } finally {
      progress.hidden = true;
    }
  });

  let timer = 0;
  search.addEventListener('input', () => { clearTimeout(timer); timer = window.setTimeout(reload, 250); });
  onUnmount(pane, () => clearTimeout(timer));
  s.el.querySelector('h2')!.after(search);
  const del = deleter(deleteError(s), () => reload());
  const reload = () => s.run(async () => {
    const q = search.value.trim();
    const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ limit: 100, q: q.length >= 3 ? q : undefined }));
    return h('div', {},
      table(['id', 'name', 'organisation', 'address', 'tags', 'recording', ''], page.items.map((c) => [
        c.id, c.name, c.org_id, c.address ?? '', (c.tags ?? []).join(', '), c.recording ? 'yes' : 'no',
        h('span', { class: 'row-actions' },
          h('a', { href: '#/admin/access/' + encodeURIComponent(c.id), class: 'button secondary small' }, 'Who has access'),
          button('Delete', () => del(cameraPath(c.id), `Delete the camera ${c.name} (${c.id})?`,
            'It leaves the directory: nobody can find, watch or play it back in argus any more, and its recording stops ' +
            'within about 15 seconds. Its recorded video stays on disk: no age or size limit applies to it any more, only the ' +
            'free-space floor (the oldest video goes when the disk runs short), and evidence holds on it keep protecting their ' +
            'ranges. A camera added again with the same id finds that video again.',
            `Camera ${c.name} deleted.`), 'secondary small', { 'data-delete': c.id })),
      ]), 'No camera.'),
      page.next ? h('p', { class: 'muted' }, 'The first 100; search to narrow.') : null);
  });
  await reload();
}

// upload posts a CSV file with its upload progress (fetch has none).
function upload(url: string, blob: Blob, onProgress: (sent: number) => void): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', url);
    x.setRequestHeader('Content-Type', 'text/csv');
    x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onload = () => {
      let body: any;
      try { body = JSON.parse(x.responseText); } catch { body = undefined; }
      resolve({ status: x.status, body });
    };
    x.onerror = () => reject(new ApiError(0, 'network', 'The argus server cannot be reached. Check the network connection.'));
    x.send(blob);
  });
}

function sentence(s: string): string {
  s = s.trim();
  if (!s) return s;
  s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}

// ---- shares

// scope says which cameras a share covers; listed cameras link to the wall.
function scope(s: Share): HTMLElement {
  const parts: (string | Node)[][] = [];
  if (s.camera_ids?.length) {
    parts.push(['cameras ', ...s.camera_ids.flatMap((id, i) => [i ? ', ' : '', h('a', { href: '#/wall/' + encodeURIComponent(id), title: 'Watch on the wall' }, id)])]);
  }
  if (s.tags?.length) parts.push(['tagged ' + s.tags.join(', ')]);
  if (s.area?.bbox) parts.push(['in box ' + s.area.bbox.map((v) => v.toFixed(4)).join(',')]);
  if (s.area?.polygon) parts.push([`in a polygon of ${s.area.polygon.length} points`]);
  return h('span', {}, ...parts.flatMap((p, i) => (i ? ['; or ', ...p] : p)));
}

function shareState(s: Share): string {
  const now = Date.now();
  if (s.revoked_at) return `revoked ${when(s.revoked_at)} by ${s.revoked_by ?? '?'}: ${s.revoke_reason ?? ''}`;
  if (Date.parse(s.valid_until) <= now) return 'ended';
  if (Date.parse(s.valid_from) > now) return 'not yet begun';
  return 'active';
}

async function revokeShare(id: string): Promise<boolean> {
  const reason = await ask('Revoke share ' + id, 'Reason', { hint: 'Revoking ends at once every live session the share allowed. The reason is recorded in the audit log.', ok: 'Revoke' });
  if (!reason) return false;
  try {
    await post(`/api/v1/shares/${encodeURIComponent(id)}/revoke`, { reason });
    say(`Share ${id} revoked.`, 'info');
    return true;
  } catch (e) {
    say(errorText(e));
    return false;
  }
}

async function sharesTab(pane: HTMLElement, ctx: Ctx): Promise<void> {
  const s = section('Shares');
  const f = h('form', { class: 'admin-form share-form', 'data-form': 'share' });
  const current = h('input', { type: 'checkbox', name: 'current' });
  pane.append(h('section', { class: 'admin-section' }, h('h2', {}, 'Grant a share'),
    h('p', { class: 'muted hint' }, 'Lets another organisation use some of your cameras for some actions, for a bounded time and a stated purpose. A camera is covered when its id is listed, or it carries one of the tags, or it stands in the area.'),
    f), s.el);
  s.el.querySelector('h2')!.after(h('label', { class: 'check' }, current, ' only those in effect or not yet begun'));
  const orgItems = await orgs();
  const grantees = h('datalist', { id: 'grantee-orgs' }, ...orgItems.map((o) => h('option', { value: o.id }, o.name)));
  const bbox = input('area', { placeholder: 'minLon,minLat,maxLon,maxLat', pattern: '\\s*-?[0-9.]+(\\s*,\\s*-?[0-9.]+){3}\\s*' });
  const mapBox = h('div', { class: 'area-map', title: 'Click two opposite corners to draw the area' });
  const now = Date.now();
  f.append(
    field('Owner', select('owner_org_id', orgOptions(orgItems, ctx), ctx.user.org_id), 'the organisation that grants'),
    field('Grantee', input('grantee_org_id', { list: 'grantee-orgs', required: true, placeholder: 'organisation id' }), 'the organisation that receives'),
    grantees,
    field('Camera ids', input('camera_ids', { placeholder: 'cam-0000001, cam-0000002' })),
    field('Tags', input('tags', { placeholder: 'school, intersection' })),
    h('div', { class: 'field area-field', 'data-field': 'area' },
      h('span', {}, 'Area'), bbox,
      h('small', { class: 'muted' }, 'type a box, or click two opposite corners on the map'),
      mapBox,
      h('small', { class: 'field-error error', role: 'alert' })),
    h('fieldset', { class: 'field actions', 'data-field': 'actions' },
      h('legend', {}, 'Actions'),
      ...shareActions.map(([a, l]) => h('label', { class: 'check' }, input('actions', { type: 'checkbox', value: a, checked: a === 'video.live' }), ' ' + l)),
      h('small', { class: 'field-error error', role: 'alert' })),
    field('Valid from', input('valid_from', { type: 'datetime-local', value: toLocalInput(now) })),
    field('Valid until', input('valid_until', { type: 'datetime-local', required: true, value: toLocalInput(now + 7 * 86400e3) }), 'at most 365 days after the start'),
    field('Purpose', h('textarea', { name: 'purpose', required: true, maxlength: 1000, rows: 2, placeholder: 'why, e.g. the agreement or case number' })),
    formFoot('Grant share'));
  areaMap(pane, mapBox, bbox);

  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const d = new FormData(f);
    const box = list(String(d.get('area') ?? '')).map(Number);
    try {
      if (box.length && (box.length !== 4 || box.some(isNaN))) throw new ApiError(400, 'invalid', 'The area must be four numbers: minLon,minLat,maxLon,maxLat.', 'area');
      const sh = await post<Share>('/api/v1/shares', {
        owner_org_id: d.get('owner_org_id') || undefined,
        grantee_org_id: String(d.get('grantee_org_id') ?? '').trim(),
        camera_ids: list(String(d.get('camera_ids') ?? '')),
        tags: list(String(d.get('tags') ?? '')),
        area: box.length ? { bbox: box } : undefined,
        actions: d.getAll('actions'),
        valid_from: toRFC3339(String(d.get('valid_from') ?? '')) || undefined,
        valid_until: toRFC3339(String(d.get('valid_until') ?? '')),
        purpose: String(d.get('purpose') ?? '').trim(),
      });
      say(`Share ${sh.id} granted to ${sh.grantee_org_id}.`, 'info');
      await reload();
    } catch (e) {
      showError(f, e);
    }
  });
  current.addEventListener('change', () => reload());
  const reload = () => s.run(async () => {
    const { items } = await json<{ items: Share[] }>('/api/v1/shares?' + qs({ current: current.checked ? 'true' : undefined }));
    return table(['id', 'owner → grantee', 'cameras', 'actions', 'valid', 'purpose', 'state', ''], items.map((x) => {
      const st = shareState(x);
      const row: (string | Node)[] = [x.id, `${x.owner_org_id} → ${x.grantee_org_id}`, scope(x), x.actions.join(', '),
        `${when(x.valid_from)} – ${when(x.valid_until)}`, x.purpose, st,
        x.revoked_at || st === 'ended' ? '' : button('Revoke', async () => { if (await revokeShare(x.id)) await reload(); }, 'secondary small', { 'data-share': x.id })];
      return row;
    }), 'No share.');
  });
  await reload();
}

// areaMap is a small map of the caller's cameras on which two clicks draw
// the share's box into the bbox input (and typing a box draws it).
function areaMap(pane: HTMLElement, container: HTMLElement, bboxInput: HTMLInputElement): void {
  const empty = { type: 'FeatureCollection' as const, features: [] };
  const map = new maplibregl.Map({
    container, attributionControl: false, dragRotate: false, maxPitch: 0, center: [0, 20], zoom: 1,
    style: {
      version: 8,
      sources: { cams: { type: 'geojson', data: empty }, box: { type: 'geojson', data: empty } },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#1c2430' } },
        { id: 'box', type: 'fill', source: 'box', paint: { 'fill-color': '#3d7bd9', 'fill-opacity': 0.25, 'fill-outline-color': '#8fb8ff' } },
        { id: 'cams', type: 'circle', source: 'cams', paint: { 'circle-radius': 4, 'circle-color': '#9aa3ad', 'circle-stroke-color': '#10151c', 'circle-stroke-width': 1 } },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  onUnmount(pane, () => map.remove());
  let corner: [number, number] | null = null;
  const drawBox = () => {
    const b = list(bboxInput.value).map(Number);
    const src = map.getSource('box') as maplibregl.GeoJSONSource | undefined;
    if (!src) return;
    if (b.length !== 4 || b.some(isNaN)) { src.setData(empty); return; }
    const [w, s, e, n] = b;
    src.setData({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } });
  };
  map.on('click', (ev) => {
    const p: [number, number] = [ev.lngLat.lng, ev.lngLat.lat];
    if (!corner) { corner = p; bboxInput.value = ''; drawBox(); return; }
    const r = (v: number) => v.toFixed(6);
    bboxInput.value = [Math.min(corner[0], p[0]), Math.min(corner[1], p[1]), Math.max(corner[0], p[0]), Math.max(corner[1], p[1])].map(r).join(',');
    corner = null;
    drawBox();
  });
  bboxInput.addEventListener('input', drawBox);
  map.on('load', async () => {
    try {
      const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ limit: 1000 }));
      (map.getSource('cams') as maplibregl.GeoJSONSource).setData({
        type: 'FeatureCollection',
        features: page.items.map((c) => ({ type: 'Feature' as const, properties: { id: c.id }, geometry: { type: 'Point' as const, coordinates: [c.lon, c.lat] } })),
      });
      container.dataset.cameras = String(page.items.length);
      if (page.items.length) {
        const b = new maplibregl.LngLatBounds();
        for (const c of page.items) b.extend([c.lon, c.lat]);
        map.fitBounds(b, { padding: 30, maxZoom: 15, duration: 0 });
      }
    } catch { /* an empty map still draws a typed box */ }
    drawBox();
  });
}

// ---- evidence holds

async function holdsTab(pane: HTMLElement): Promise<void> {
  const s = section('Evidence holds');
  const active = h('input', { type: 'checkbox', name: 'active' });
  const f = h('form', { class: 'admin-form', 'data-form': 'hold' });
  const now = Date.now();
  f.append(
    field('Camera id', input('camera_id', { required: true })),
    field('From', input('from', { type: 'datetime-local', required: true, value: toLocalInput(now - 3600e3) })),
    field('To', input('to', { type: 'datetime-local', required: true, value: toLocalInput(now) })),
    field('Reason', input('reason', { required: true, maxlength: 1000, placeholder: 'case number' })),
    formFoot('Place hold'));
  pane.append(h('section', { class: 'admin-section' }, h('h2', {}, 'Place a hold'),
    h('p', { class: 'muted hint' }, 'A hold keeps a range of a camera\'s recordings from every retention rule until it is released.'), f), s.el);
  s.el.querySelector('h2')!.after(h('label', { class: 'check' }, active, ' only those not released'));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const d = new FormData(f);
    try {
      const hd = await post<Hold>('/api/v1/holds', {
        camera_id: String(d.get('camera_id')).trim(), from: toRFC3339(String(d.get('from'))), to: toRFC3339(String(d.get('to'))), reason: d.get('reason'),
      });
      say(`Hold ${hd.id} placed.`, 'info');
      await reload();
    } catch (e) {
      showError(f, e);
    }
  });
  active.addEventListener('change', () => reload());
  const reload = () => s.run(async () => {
    const { items } = await json<{ items: Hold[] }>('/api/v1/holds?' + qs({ active: active.checked ? 'true' : undefined }));
    return table(['id', 'camera', 'from', 'to', 'reason', 'placed', 'state', ''], items.map((x) => [
      x.id, x.camera_id, when(x.from), when(x.to), x.reason, `${when(x.created_at)} by ${x.created_by}`,
      x.released_at ? `released ${when(x.released_at)} by ${x.released_by}: ${x.release_reason ?? ''}` : 'held',
      x.released_at ? '' : button('Release', async () => {
        const reason = await ask('Release hold ' + x.id, 'Reason', { hint: 'Once released, retention may delete the video. The reason is recorded.', ok: 'Release' });
        if (!reason) return;
        try {
          await post(`/api/v1/holds/${encodeURIComponent(x.id)}/release`, { reason });
          say(`Hold ${x.id} released.`, 'info');
          await reload();
        } catch (e) { say(errorText(e)); }
      }),
    ]), 'No hold.');
  });
  await reload();
}

// ---- the camera owner's view

async function accessTab(pane: HTMLElement, _ctx: Ctx, arg: string): Promise<void> {
  const f = h('form', { class: 'admin-form inline', 'data-form': 'access' });
  const id = input('camera', { required: true, value: arg, placeholder: 'camera id', list: 'my-cameras' });
  const mine = h('datalist', { id: 'my-cameras' });
  f.append(field('Camera', id), mine, formFoot('Who has access'));
  const s = section('Who may act on the camera');
  const cams = section('My cameras');
  pane.append(h('section', { class: 'admin-section' }, h('h2', {}, 'Camera access'),
    h('p', { class: 'muted hint' }, 'For a camera your organisation owns: the organisations that may use it — the owner, the organisations above it, and the shares — and revoking a share.'), f), s.el, cams.el);
  s.el.hidden = !arg;
  const show = (cam: string) => s.run(async () => {
    s.el.hidden = false;
    const a = await json<{ camera_id: string; owner_org_id: string; holders: Holder[] }>(cameraPath(cam) + '/access');
    return h('div', { 'data-camera': a.camera_id },
      h('p', {}, `${a.camera_id}, owned by ${a.owner_org_id}. Each organisation's own sub-organisations have the same access.`),
      table(['organisation', 'via', 'actions', 'valid', 'purpose', 'state', ''], a.holders.map((x) => [
        x.org_id, x.via === 'share' ? `share ${x.share_id}` : x.via, x.actions?.join(', ') ?? 'as its roles allow',
        x.valid_from ? `${when(x.valid_from)} – ${when(x.valid_until)}` : '', x.purpose ?? '', x.active ? 'active' : 'not yet begun',
        x.share_id ? button('Revoke', async () => { if (await revokeShare(x.share_id!)) await show(cam); }, 'secondary small', { 'data-share': x.share_id }) : '',
      ])));
  });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const cam = id.value.trim();
    if (location.hash !== '#/admin/access/' + encodeURIComponent(cam)) history.replaceState(null, '', '#/admin/access/' + encodeURIComponent(cam));
    show(cam);
  });
  if (arg) await show(arg);
  await cams.run(async () => {
    const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ limit: 100 }));
    mine.replaceChildren(...page.items.map((c) => h('option', { value: c.id }, c.name)));
    return table(['id', 'name', 'organisation', ''], page.items.map((c) => [c.id, c.name, c.org_id,
      button('Who has access', () => { id.value = c.id; f.requestSubmit(); })]), 'No camera.');
  });
}

