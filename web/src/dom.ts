// A few DOM helpers: the UI is plain TypeScript, no framework.

type Attrs = Record<string, string | number | boolean | EventListener | undefined>;
type Child = Node | string | null | undefined | false;

/** h creates an element with attributes (on* are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const toast = () => document.getElementById('toast')!;
let toastTimer = 0;

/** say shows a message at the bottom of the page for a few seconds. */
export function say(message: string, kind: 'error' | 'info' = 'error'): void {
  const t = toast();
  t.textContent = message;
  t.className = kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { t.hidden = true; }, 8000);
}

/** errorText is the message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * ask shows a modal dialog with one text field and resolves to what was
 * entered, or null when cancelled.
 */
export function ask(title: string, label: string, opts: { value?: string; hint?: string; ok?: string } = {}): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h('input', { name: 'answer', required: true, maxlength: 1000, value: opts.value ?? '' });
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      opts.hint ? h('p', {}, opts.hint) : null,
      h('label', {}, label, input),
      h('menu', {},
        h('button', { type: 'button', value: 'cancel', class: 'secondary' }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok' }, opts.ok ?? 'OK')));
    const dlg = h('dialog', { class: 'ask' }, form);
    let answer: string | null = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      answer = v;
      dlg.close();
    });
    form.querySelector('button[value=cancel]')!.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(answer); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}

/** fmtTime formats an instant as local date and time to the second. */
export function fmtTime(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
