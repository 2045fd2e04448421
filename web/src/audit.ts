// The audit viewer, for auditors, organisation admins and administrators:
// search the log (GET /api/v1/audit, newest first, a page at a time),
// export the same selection as JSON lines, verify the whole chain of hashes
// and its signed checkpoints (GET /api/v1/audit/verify), and the
// transparency report of a range as a table per organisation.

import { json, qs } from './api';
import { errorText, fmtTime, h } from './dom';
import { field, formFoot, input, table, toLocalInput, toRFC3339 } from './forms';
import type { Ctx } from './main';

interface AuditRecord {
  seq: number; time: string; kind: string;
  principal?: { user_id?: string; username?: string; org_id?: string; role?: string; token_id?: string };
  action?: string; resource?: { kind?: string; id?: string; org_id?: string };
  allowed?: boolean; reason?: string; purpose?: string; grant?: string; client?: string;
  from?: string; to?: string; detail?: unknown;
}
interface OrgActivity { org_id: string; denied_by_action?: { [action: string]: number }; [k: string]: unknown }
interface Report { from: string; to: string; records: number; orgs: OrgActivity[] }
interface Verification {
  ok: boolean; records: number; checkpoints: number; sealed: number; last_checkpoint?: string; duration_ms: number;
  problem?: { seq: number; kind: string; what: string };
}

// What each kind of problem means, in words.
const problemWords: Record<string, string> = {
  altered: 'it was altered',
  removed: 'records were removed',
  reordered: 'records were reordered',
  checkpoint: 'a signed checkpoint is missing, forged or does not match the chain',
};

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

// verificationText says the outcome of a verification in sentences.
function verificationText(v: Verification): string {
  const took = v.duration_ms < 1000 ? `${v.duration_ms} ms` : `${(v.duration_ms / 1000).toFixed(1)} s`;
  if (v.ok) {
    const unsealed = v.records - v.sealed;
    return `The chain is intact: ${plural(v.records, 'record', 'records')} and ${plural(v.checkpoints, 'signed checkpoint', 'signed checkpoints')} verified in ${took}. ` +
      (!v.checkpoints ? 'No checkpoint seals the chain yet: the node signs the chain within about a minute of a new record.'
        : `The last checkpoint${v.last_checkpoint ? `, signed ${fmtTime(Date.parse(v.last_checkpoint))},` : ''} seals record ${v.sealed.toLocaleString()}` +
        (unsealed ? `; the ${plural(unsealed, 'record', 'records')} after it ${unsealed === 1 ? 'is' : 'are'} chained but not yet signed.` : '.'));
  }
  const p = v.problem!;
  return `The chain is broken at record ${p.seq.toLocaleString()}: ${problemWords[p.kind] ?? p.kind} (${p.what}). ` +
    `${plural(v.records, 'record', 'records')} before it verified. Keep a copy of the node's audit.db and tell the platform's oversight.`;
}

const actions = ['directory.view', 'video.live', 'video.playback', 'video.export', 'camera.ptz', 'camera.manage', 'org.manage',
  'user.manage', 'audit.view', 'hold.view', 'hold.place', 'hold.release', 'share.manage', 'camera.emergency', 'system.admin'];

const reportColumns: [string, string][] = [
  ['live_views', 'live views'], ['playbacks', 'playbacks'], ['exports', 'exports'], ['export_downloads', 'downloads'],
  ['ptz_sessions', 'PTZ sessions'], ['emergency_accesses', 'emergency'], ['emergency_uses', 'emergency uses'],
  ['shares_granted', 'shares granted'], ['shares_revoked', 'shares revoked'], ['denied', 'denied']];

function detailText(d: unknown): string {
  if (d === undefined || d === null || d === '') return '';
  return typeof d === 'string' ? d : JSON.stringify(d);
}

function row(r: AuditRecord): HTMLTableRowElement {
  const p = r.principal ?? {};
  const res = r.resource ?? {};
  const decision = r.kind === 'decision' ? (r.allowed ? 'allowed' : 'denied') : '';
  const range = r.from ? `${fmtTime(Date.parse(r.from))} – ${r.to ? fmtTime(Date.parse(r.to)) : ''}` : '';
  const who = h('span', {}, [p.username || p.user_id, p.role, p.org_id].filter(Boolean).join(' · '), p.token_id ? h('small', {}, 'token ' + p.token_id) : null);
  const cells: (string | Node)[] = [
    String(r.seq), fmtTime(Date.parse(r.time)), r.kind, who,
    r.action ?? '', [res.kind, res.id].filter(Boolean).join(' ') + (res.org_id ? ` · ${res.org_id}` : ''),
    decision, r.reason ?? '', [r.purpose, r.grant, range].filter(Boolean).join(' · '), detailText(r.detail), r.client ?? '',
  ];
  return h('tr', { 'data-kind': r.kind, 'data-action': r.action ?? '', class: decision }, ...cells.map((c) => h('td', {}, c)));
}

export function mountAudit(root: HTMLElement, _arg: string, _ctx: Ctx): () => void {
  const now = Date.now();
  const search = h('form', { class: 'admin-form audit-search', 'data-form': 'audit' },
    field('From', input('from', { type: 'datetime-local', value: toLocalInput(now - 86400e3) })),
    field('To', input('to', { type: 'datetime-local' }), 'empty: now'),
    field('User', input('user', { placeholder: 'user id or name' })),
    field('Camera', input('camera', { placeholder: 'camera id' })),
    field('Action', input('action', { list: 'audit-actions', placeholder: 'e.g. share.manage' })),
    h('datalist', { id: 'audit-actions' }, ...actions.map((a) => h('option', { value: a }))),
    formFoot('Search'));
  const exportLink = h('a', { class: 'button secondary', download: 'audit.jsonl', 'data-action': 'export' }, 'Export as JSON lines');
  const status = h('p', { class: 'muted', role: 'status' });
  const tbody = h('tbody', {});
  const results = h('table', { class: 'audit-log' },
    h('thead', {}, h('tr', {}, ...['#', 'time', 'kind', 'who', 'action', 'resource', 'decision', 'reason', 'purpose · grant · range', 'detail', 'client'].map((x) => h('th', {}, x)))),
    tbody);
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older records');

  const reportForm = h('form', { class: 'admin-form inline', 'data-form': 'report' },
    field('From', input('from', { type: 'datetime-local', value: toLocalInput(now - 30 * 86400e3) })),
    field('To', input('to', { type: 'datetime-local' }), 'empty: now'),
    formFoot('Make the report'));
  const reportOut = h('div', { class: 'report' });
  const verifyBtn = h('button', { type: 'button', 'data-action': 'verify' }, 'Verify chain');
  const verifyProgress = h('progress', { hidden: true, 'aria-label': 'Verifying' });
  const verifyOut = h('div', { class: 'verify-result', role: 'status', 'aria-live': 'polite' });

  root.append(h('div', { class: 'admin audit' },
    h('section', { class: 'admin-section' }, h('h2', {}, 'Audit log'),
      h('p', { class: 'muted hint' }, 'Every decision of the access gate (allowed or denied), every administrative change and every live session, newest first.'),
      search, h('div', { class: 'toolbar' }, exportLink, status), results, more),
    h('section', { class: 'admin-section audit-verify' }, h('h2', {}, 'Integrity of the log'),
      h('p', { class: 'muted hint' }, 'Each record carries the hash of the one before it, and the node signs the chain every so often (checkpoints). ' +
        'Verifying reads the whole log, as "argus audit verify" does on the node, and names the first record altered, removed or reordered. ' +
        'Records written while it runs are left for the next verification. The verification itself is recorded.'),
      h('div', { class: 'toolbar' }, verifyBtn, verifyProgress), verifyOut),
    h('section', { class: 'admin-section' }, h('h2', {}, 'Transparency report'),
      h('p', { class: 'muted hint' }, 'What each organisation\'s users did in a range, counted from the audit log.'),
      reportForm, reportOut)));

  let next = '';
  let filter = '';
  let seq = 0;
  const params = () => {
    const d = new FormData(search);
    const s = (k: string) => String(d.get(k) ?? '').trim() || undefined;
    return { from: toRFC3339(s('from') ?? '') || undefined, to: toRFC3339(s('to') ?? '') || undefined, user: s('user'), camera: s('camera'), action: s('action') };
  };
  async function load(append: boolean) {
    const n = ++seq;
    if (!append) { filter = qs(params()); next = ''; exportLink.href = '/api/v1/audit/export?' + filter; }
    status.textContent = 'Loading…';
    try {
      const page = await json<{ items: AuditRecord[]; next?: string }>('/api/v1/audit?' + filter + (filter ? '&' : '') + qs({ limit: 100, cursor: append ? next : undefined }));
      if (n !== seq) return;
      if (!append) tbody.replaceChildren();
      tbody.append(...page.items.map(row));
      next = page.next ?? '';
      more.hidden = !next;
      const shown = tbody.childElementCount;
      status.textContent = shown ? `${shown} record${shown === 1 ? '' : 's'}${next ? ', more below' : ''}.` : 'No record matches.';
    } catch (e) {
      if (n === seq) { status.textContent = errorText(e); tbody.replaceChildren(); more.hidden = true; }
    }
  }
  search.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener('click', () => load(true));

  reportForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = new FormData(reportForm);
    reportOut.replaceChildren(h('p', { class: 'muted' }, 'Counting…'));
    try {
      const r = await json<Report>('/api/v1/audit/report?' + qs({ from: toRFC3339(String(d.get('from') ?? '')) || undefined, to: toRFC3339(String(d.get('to') ?? '')) || undefined }));
      const denied = r.orgs.flatMap((o) => Object.entries(o.denied_by_action ?? {}).map(([a, c]) => [o.org_id, a, String(c)]));
      reportOut.replaceChildren(
        h('p', {}, `${r.records.toLocaleString()} records.`),
        table(['organisation', ...reportColumns.map(([, l]) => l)], r.orgs.map((o) => [o.org_id, ...reportColumns.map(([k]) => String(o[k] ?? 0))]), 'No activity in the range.'));
      if (denied.length) reportOut.append(h('h3', {}, 'Denied, by action'), table(['organisation', 'action', 'denied'], denied));
      reportOut.querySelector('table')?.classList.add('report-table');
    } catch (e) {
      reportOut.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    }
  });

  let ticker = 0;
  verifyBtn.addEventListener('click', async () => {
    verifyBtn.disabled = true;
    verifyProgress.hidden = false;
    verifyProgress.removeAttribute('value');
    const t0 = performance.now();
    const busy = h('p', { class: 'muted' }, 'Verifying the chain…');
    verifyOut.replaceChildren(busy);
    ticker = window.setInterval(() => { busy.textContent = `Verifying the chain… ${Math.round((performance.now() - t0) / 1000)} s`; }, 1000);
    try {
      const v = await json<Verification>('/api/v1/audit/verify');
      verifyOut.replaceChildren(h('p', { class: v.ok ? 'verify-ok' : 'verify-bad error', 'data-ok': String(v.ok), 'data-seq': v.problem?.seq ?? '' }, verificationText(v)));
    } catch (e) {
      verifyOut.replaceChildren(h('p', { class: 'error' }, 'The chain could not be verified: ' + errorText(e)));
    } finally {
      clearInterval(ticker);
      verifyBtn.disabled = false;
      verifyProgress.hidden = true;
    }
  });

  load(false);
  reportForm.requestSubmit();
  return () => { seq++; clearInterval(ticker); };
}
