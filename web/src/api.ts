// The argus HTTP API as the UI uses it: same-origin fetch with the session
// cookie, and every failure turned into a sentence an operator understands.

export interface User {
  id: string;
  username: string;
  display_name?: string;
  org_id: string;
  role: string;
}

export interface Camera {
  id: string;
  name: string;
  org_id: string;
  lat: number;
  lon: number;
  address?: string;
  district?: string;
  tags?: string[];
  recording?: boolean;
  /** state is the ingest state on the node (listings only): idle when not pulled. */
  state?: string;
  /** alerting marks a camera with an unacknowledged warning or critical event. */
  alerting?: boolean;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface GridCell {
  lat: number;
  lon: number;
  count: number;
  camera_id?: string;
  /** offline counts the cell's cameras in trouble (offline, stalled, unauthorised, unsupported). */
  offline?: number;
  /** alerting counts the cell's cameras with unacknowledged alerts. */
  alerting?: number;
}

export interface Range {
  from: string;
  to: string;
}

export interface Timeline {
  from: string;
  to: string;
  ranges: Range[];
  gaps: Range[];
  events: AlertEvent[];
}

/** Severity is how urgent an event is. */
export type Severity = 'info' | 'warning' | 'critical';

/**
 * AlertEvent is one event of the event API: id is its decimal stream
 * sequence; camera_id and org_id are empty for node-wide events;
 * acknowledged_* are present once acknowledged.
 */
export interface AlertEvent {
  id: string;
  time: string;
  type: string;
  severity: Severity;
  camera_id?: string;
  org_id?: string;
  message: string;
  data?: Record<string, unknown>;
  acknowledged_by?: string;
  acknowledged_at?: string;
  acknowledged_note?: string;
}

export interface Health {
  camera_id: string;
  state: string;
  fps?: number;
  last_error?: string;
}

export interface ExportJob {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  progress: number;
  error?: string;
  camera_ids: string[];
  from: string;
  to: string;
  reason: string;
}

/** ApiError is a failed request: its message is fit to show to the user. */
export class ApiError extends Error {
  status: number;
  code: string;
  field: string;
  constructor(status: number, code: string, message: string, field = '') {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// Said when the server gives no message of its own.
const statusWords: Record<number, string> = {
  400: 'The server did not accept the request.',
  401: 'You are not signed in, or your session has ended. Sign in again.',
  403: 'You are not allowed to do this.',
  404: 'Not found, or you may not see it.',
  409: 'This conflicts with the current state; reload and try again.',
  413: 'This is too large for the server.',
  429: 'Too many attempts. Wait a little and try again.',
  500: 'The server failed. If it keeps happening, give the administrator the time of the error.',
  503: 'The service is not available right now (the camera may be offline, or the node busy).',
};

/** onUnauthorized is called when a request answers 401 (the session ended). */
let unauthorized: () => void = () => {};
export function onUnauthorized(f: () => void): void {
  unauthorized = f;
}

/**
 * api fetches an API path with the session cookie and returns the response
 * when it succeeded; otherwise it throws an ApiError in words.
 */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiError(0, 'network', 'The argus server cannot be reached. Check the network connection.');
  }
  if (r.ok) return r;
  let message = statusWords[r.status] ?? `The server answered ${r.status} ${r.statusText}.`;
  let code = '';
  let field = '';
  try {
    const body = await r.json();
    if (body?.error?.message) {
      message = sentence(body.error.message);
      code = body.error.code ?? '';
      field = body.error.field ?? '';
    }
  } catch {
    // not JSON: keep the words for the status
  }
  if (r.status === 429) {
    const after = r.headers.get('Retry-After');
    if (after) message = `Too many attempts. Try again in ${after} seconds.`;
  }
  if (r.status === 401 && !path.endsWith('/login')) unauthorized();
  throw new ApiError(r.status, code, message, field);
}

/** json fetches a path and decodes its JSON body. */
export async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await api(path, init)).json() as Promise<T>;
}

/** post sends a JSON body and decodes the JSON answer. */
export async function post<T>(path: string, body: unknown): Promise<T> {
  return json<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function sentence(s: string): string {
  s = s.trim();
  if (!s) return s;
  s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}

/** qs builds a query string from defined values. */
export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  return u.toString();
}

export const cameraPath = (id: string) => '/api/v1/cameras/' + encodeURIComponent(id);

// A small cache of cameras by id, filled by every list the UI loads, so
// tiles and the playback view can name a camera without asking again.
const cameras = new Map<string, Camera>();

export function remember(list: Camera[]): void {
  for (const c of list) cameras.set(c.id, c);
}

export async function camera(id: string): Promise<Camera> {
  const c = cameras.get(id);
  if (c) return c;
  const got = await json<Camera>(cameraPath(id));
  cameras.set(id, got);
  return got;
}

/** searchCameras lists cameras matching q (3+ characters), or the first ones. */
export async function searchCameras(q: string, limit = 100): Promise<Camera[]> {
  const page = await json<Page<Camera>>('/api/v1/cameras?' + qs({ limit, q: q.length >= 3 ? q : undefined }));
  remember(page.items);
  return page.items;
}
