// The argus operator UI: sign-in, the top bar (with the alerts bell) and the
// views (map, wall, playback, admin, audit, alerts), switched by the
// location's hash (#/map, #/wall, #/playback/<camera>, #/admin/<tab>,
// #/audit, #/alerts) so that every view has a URL to share or bookmark and
// the server needs no routes of its own.

import './style.css';
import { api, json, onUnauthorized, post, type User } from './api';
import { errorText } from './dom';
import { mountAdmin } from './admin';
import { mountAlerts, startAlerts } from './alerts';
import { mountAudit } from './audit';
import { mountMap } from './map';
import { mountPlayback } from './playback';
import { mountWall } from './wall';

/** Ctx is what every view gets: the signed-in user. */
export interface Ctx {
  user: User;
}

type Mount = (root: HTMLElement, arg: string, ctx: Ctx) => () => void;

const views: Record<string, Mount> = { map: mountMap, wall: mountWall, playback: mountPlayback, admin: mountAdmin, audit: mountAudit, alerts: mountAlerts };

const $ = (id: string) => document.getElementById(id)!;
let ctx: Ctx | null = null;
let unmount: (() => void) | null = null;
let mounted = '';
let stopAlerts: (() => void) | null = null;

function route(): void {
  if (!ctx) return;
  const [, name = 'map', ...rest] = location.hash.replace(/^#/, '').split('/');
  const view = views[name] ? name : 'map';
  const arg = decodeURIComponent(rest.join('/'));
  const key = view + '/' + arg;
  if (key === mounted) return;
  unmount?.();
  mounted = key;
  const root = $('app');
  root.replaceChildren();
  root.className = 'view-' + view;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#views a')) {
    a.setAttribute('aria-current', String(a.dataset.view === view));
  }
  unmount = views[view](root, arg, ctx);
}

function showLogin(message = ''): void {
  unmount?.();
  unmount = null;
  mounted = '';
  ctx = null;
  stopAlerts?.();
  stopAlerts = null;
  $('topbar').hidden = true;
  $('app').hidden = true;
  $('app').replaceChildren();
  $('login').hidden = false;
  $('login-error').textContent = message;
  showProviders();
  ($('login').querySelector('input[name=username]') as HTMLInputElement).focus();
}

// showProviders offers the identity provider's sign-in when OIDC is on.
async function showProviders(): Promise<void> {
  const p = $('login-oidc');
  try {
    const got = await json<{ oidc?: { enabled: boolean; button_label?: string; login_url?: string } }>('/api/v1/auth/providers');
    const o = got.oidc;
    if (!o?.enabled || !o.login_url) { p.hidden = true; return; }
    const a = document.createElement('a');
    a.className = 'button secondary oidc';
    a.href = o.login_url;
    a.textContent = o.button_label || 'Sign in with your organisation';
    p.replaceChildren(a);
    p.hidden = false;
  } catch {
    p.hidden = true; // password sign-in still works
  }
}

// Roles that may read the audit log (the API decides; this only hides the link).
const auditRoles = ['org_admin', 'auditor', 'admin'];

async function start(): Promise<void> {
  try {
    const me = await json<{ user: User }>('/api/v1/me');
    ctx = { user: me.user };
  } catch (e) {
    const status = (e as { status?: number }).status;
    showLogin(status === 401 ? '' : errorText(e));
    return;
  }
  const u = ctx.user;
  $('who').textContent = `${u.display_name || u.username} · ${u.role} · ${u.org_id}`;
  (document.querySelector('#views a[data-view=audit]') as HTMLElement).hidden = !auditRoles.includes(u.role);
  $('login').hidden = true;
  $('topbar').hidden = false;
  $('app').hidden = false;
  stopAlerts?.();
  stopAlerts = startAlerts($('who'));
  route();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target as HTMLFormElement);
  $('login-error').textContent = '';
  const button = $('login').querySelector('button')!;
  button.disabled = true;
  try {
    await post('/api/v1/login', { username: f.get('username'), password: f.get('password') });
    (ev.target as HTMLFormElement).reset();
    await start();
  } catch (e) {
    const status = (e as { status?: number }).status;
    $('login-error').textContent = status === 401 ? 'The user name or password is wrong.' : errorText(e);
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  unmount?.();
  unmount = null;
  try { await api('/api/v1/logout', { method: 'POST' }); } catch { /* signed out anyway */ }
  showLogin();
});

onUnauthorized(() => { if (ctx) showLogin('Your session has ended. Sign in again.'); });
window.addEventListener('hashchange', route);
start();
