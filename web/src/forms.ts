// Forms for the administration and audit views: labelled fields, each with
// a place for the API's error about it (error.field), tables, and the
// conversions between datetime-local inputs and RFC 3339.

import { ApiError } from './api';
import { errorText, h } from './dom';

type Input = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** field is a labelled input with an empty message below it for its errors. */
export function field(label: string, input: Input, hint = ''): HTMLElement {
  return h('label', { class: 'field', 'data-field': input.name },
    h('span', {}, label),
    input,
    hint ? h('small', { class: 'muted' }, hint) : null,
    h('small', { class: 'field-error error', role: 'alert' }));
}

/** input creates a named input element. */
export function input(name: string, attrs: Record<string, string | number | boolean | undefined> = {}): HTMLInputElement {
  return h('input', { name, ...attrs });
}

/** select creates a named select of [value, label] options. */
export function select(name: string, options: [string, string][], value = ''): HTMLSelectElement {
  const s = h('select', { name }, ...options.map(([v, l]) => h('option', { value: v }, l)));
  s.value = value;
  return s;
}

/** clearErrors empties the messages of a form. */
export function clearErrors(form: HTMLElement): void {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * showError puts an error next to the field it names (the API's
 * error.field, a JSON property such as "grantee_org_id"), or at the form's
 * foot when it names none the form has.
 */
export function showError(form: HTMLElement, e: unknown, fieldNames: Record<string, string> = {}): void {
  clearErrors(form);
  // "area.bbox" or "camera_ids[2]" is about the field "area" or "camera_ids".
  const raw = e instanceof ApiError ? e.field : '';
  let at: HTMLElement | null = null;
  for (const name of [fieldNames[raw], raw, raw.split(/[.[]/)[0]]) {
    if (name && !at) at = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(name)}"]`);
  }
  if (at) {
    at.querySelector('.field-error')!.textContent = errorText(e);
    at.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
    return;
  }
  const foot = form.querySelector('.form-error');
  if (foot) foot.textContent = errorText(e);
}

/** formFoot is a form's submit button and its message for errors. */
export function formFoot(label: string, ...extra: (Node | null)[]): HTMLElement {
  return h('div', { class: 'form-foot' },
    h('button', { type: 'submit' }, label), ...extra,
    h('p', { class: 'form-error error', role: 'alert' }));
}

/** table renders rows of cells (text or nodes) under headers. */
export function table(headers: string[], rows: (string | Node)[][], empty = 'None.'): HTMLElement {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((x) => h('td', {}, x))))));
}

/** toRFC3339 turns a datetime-local value into RFC 3339 UTC ('' stays ''). */
export function toRFC3339(local: string): string {
  if (!local) return '';
  const t = new Date(local);
  return isNaN(t.getTime()) ? local : t.toISOString();
}

/** toLocalInput formats an instant for a datetime-local input. */
export function toLocalInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** list splits a comma- or space-separated field into its non-empty items. */
export function list(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

/** when formats an RFC 3339 time for a table, '' for none. */
export function when(s?: string): string {
  if (!s) return '';
  const t = Date.parse(s);
  if (isNaN(t)) return s;
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
