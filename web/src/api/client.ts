/**
 * The console's only way to the server: JSON over fetch, same origin. A browser session is either the
 * server's session cookie (password sign-in) or an API token kept for this tab (token sign-in); cookie
 * writes carry the CSRF token the server hands out.
 */

const TOKEN_KEY = 'portcullis.token';

/** A failed call, with the server's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** The server has no such route: the feature is not available on this server (yet). */
  get missingRoute(): boolean {
    return (
      this.status === 404 &&
      (this.code === 'not_found' || this.code === 'route_not_found') &&
      /no route/i.test(this.message)
    );
  }
}

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives only as long as this page
  }
}

/** Remembers the CSRF token the server returned with the session (login or /api/me). */
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

function csrfFromCookie(): string | null {
  const m = /(?:^|;\s*)([A-Za-z_.-]*csrf[A-Za-z_.-]*)=([^;]+)/i.exec(document.cookie);
  return m?.[2] ? decodeURIComponent(m[2]) : null;
}

/** Called when the server says the session is gone, so the app can show the sign-in page. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** Headers that authenticate a request from this tab. */
export function authHeaders(method = 'GET'): Record<string, string> {
  const h: Record<string, string> = {};
  const token = getToken();
  if (token) h['ph-auth-token'] = token;
  else if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken ?? csrfFromCookie();
    if (csrf) h['x-csrf-token'] = csrf;
  }
  return h;
}

async function toError(res: Response, method: string, path: string): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { code?: string; message?: string; failed?: boolean };
    if (body.code) code = body.code;
    if (body.message) message = body.message;
  } catch {
    // not JSON
  }
  return new ApiError(res.status, code, message, method, path);
}

export interface RequestOptions {
  /** Do not treat a 401 as "signed out" (the sign-in page itself). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

/** One JSON request. Throws ApiError with the server's message on failure. */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(method) };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'cannot reach the Portcullis server', method, path);
  }
  if (!res.ok) {
    const err = await toError(res, method, path);
    if (res.status === 401 && !opts.quiet401) for (const fn of unauthorizedListeners) fn();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  request<T>('POST', path, body, opts);
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body);
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body);
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, body);

/** Builds a query string, skipping empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Uploads a file as multipart form data with progress (fetch has no upload progress; XHR does). */
export function upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders('POST'))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () =>
      reject(new ApiError(0, 'network_error', 'upload failed: cannot reach the server', 'POST', path));
    xhr.onload = () => {
      let body: { code?: string; message?: string } | undefined;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else {
        if (xhr.status === 401) for (const fn of unauthorizedListeners) fn();
        reject(
          new ApiError(
            xhr.status,
            body?.code ?? `http_${xhr.status}`,
            body?.message ?? xhr.statusText,
            'POST',
            path,
          ),
        );
      }
    };
    xhr.send(form);
  });
}
