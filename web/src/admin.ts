// Administration, for this round read-only: the organisations and users the
// caller may see. Forms (users, cameras, CSV import, shares, holds) and the
// audit viewer come next.

import { json } from './api';
import { errorText, h } from './dom';
import type { Ctx } from './main';

interface Org { id: string; name: string; kind: string; parent_id?: string }
interface UserRow { id: string; username: string; display_name?: string; org_id: string; role: string; disabled: boolean }

function table(headers: string[], rows: string[][]): HTMLElement {
  return h('table', {},
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((x) => h('td', {}, x))))));
}

async function section(title: string, load: () => Promise<HTMLElement>): Promise<HTMLElement> {
  const s = h('section', { class: 'admin-section' }, h('h2', {}, title));
  try {
    s.append(await load());
  } catch (e) {
    s.append(h('p', { class: 'muted' }, errorText(e)));
  }
  return s;
}

export function mountAdmin(root: HTMLElement, _arg: string, ctx: Ctx): () => void {
  const pane = h('div', { class: 'admin' },
    h('p', { class: 'muted' }, `Signed in as ${ctx.user.username} (${ctx.user.role}, ${ctx.user.org_id}). ` +
      'Adding and changing organisations, users, cameras and shares, and the audit viewer, are not in the UI yet; the API has them (docs/api.md).'));
  root.append(pane);
  (async () => {
    pane.append(await section('Organisations', async () => {
      const { items } = await json<{ items: Org[] }>('/api/v1/orgs');
      return table(['id', 'name', 'kind', 'parent'], items.map((o) => [o.id, o.name, o.kind, o.parent_id ?? '']));
    }));
    pane.append(await section('Users', async () => {
      const { items } = await json<{ items: UserRow[] }>('/api/v1/users');
      return table(['id', 'user name', 'name', 'organisation', 'role', 'state'],
        items.map((u) => [u.id, u.username, u.display_name ?? '', u.org_id, u.role, u.disabled ? 'disabled' : 'active']));
    }));
  })();
  return () => {};
}
