import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
// Direct module imports, not the domains' front doors: every CLI start would otherwise load the
// whole server (Fastify, argon2, the store) just to read two constants.
import { ADMIN_TOKEN_FILE } from '../identity/bootstrap.ts';
import { selfSignedCertPath } from '../api/tls.ts';
import { AppError } from '../util/errors.ts';

/** How the CLI reaches a server: PORTCULLIS_URL / PORTCULLIS_TOKEN, else the local one. */
export interface ClientTarget {
  url: string;
  token: string | undefined;
  dispatcher: Dispatcher;
}

export function resolveTarget(env: NodeJS.ProcessEnv = process.env): ClientTarget {
  const dataDir = resolve(env.PORTCULLIS_DATA_DIR || './var');
  const url = (env.PORTCULLIS_URL || `https://127.0.0.1:${env.PORTCULLIS_PORT || 9999}`).replace(/\/+$/, '');
  let token = env.PORTCULLIS_TOKEN || undefined;
  if (!token) {
    try {
      token = readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  // Trust the local server's self-signed certificate when there is one; otherwise the system's CAs.
  const certPath = selfSignedCertPath(dataDir);
  const ca = env.PORTCULLIS_CA_CERT
    ? readFileSync(env.PORTCULLIS_CA_CERT, 'utf8')
    : existsSync(certPath)
      ? readFileSync(certPath, 'utf8')
      : undefined;
  const dispatcher = new Agent({ connect: ca ? { ca } : {}, headersTimeout: 0, bodyTimeout: 0 });
  return { url, token, dispatcher };
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One JSON request to the server; throws an AppError carrying the server's message on failure. */
export async function callApi<T = unknown>(
  target: ClientTarget,
  method: Dispatcher.HttpMethod,
  path: string,
  opts: {
    body?: unknown;
    raw?: Buffer | NodeJS.ReadableStream;
    contentType?: string;
    auth?: boolean;
    allowStatus?: number[];
  } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (opts.auth !== false) {
    if (!target.token)
      throw new AppError(
        'no_token',
        "no API token: set PORTCULLIS_TOKEN, or run next to the server's data dir (PORTCULLIS_DATA_DIR)",
      );
    headers['ph-auth-token'] = target.token;
  }
  let body: string | Buffer | NodeJS.ReadableStream | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  let res: Dispatcher.ResponseData;
  try {
    res = await request(`${target.url}${path}`, {
      method,
      headers,
      body: body as never,
      dispatcher: target.dispatcher,
    });
  } catch (e) {
    const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
    const why = err.cause?.message ?? err.message;
    throw new AppError('server_unreachable', `cannot reach Portcullis at ${target.url}: ${why}`, {
      kind: 'operational',
    });
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (res.statusCode >= 400 && !opts.allowStatus?.includes(res.statusCode)) {
    const msg = (parsed as { message?: string } | null)?.message ?? text.slice(0, 500);
    throw new AppError('api_error', `${method} ${path}: HTTP ${res.statusCode}: ${msg}`, {
      kind: res.statusCode >= 500 ? 'operational' : 'user',
    });
  }
  return { status: res.statusCode, body: parsed as T };
}
