import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
// Direct module imports, not the domains' front doors: every CLI start would otherwise load the
// whole server (Fastify, argon2, the store) just to read two constants.
import { ADMIN_TOKEN_FILE } from '../identity/bootstrap.ts';
import { selfSignedCertPath } from '../api/tls.ts';
import { AppError } from '../util/errors.ts';

/** How the CLI reaches a server: PORTCULLIS_URL / PORTCULLIS_TOKEN, else the local one. */
export interface ClientTarget {
  url: string;
  token: string | undefined;
  /** The agent for url's scheme (node:https with the trusted CA, or node:http). */
  agent: http.Agent;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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
  // node:http(s) rather than a fetch library: the CLI starts on every command, and loading one costs
  // more than the request itself on a local server.
  const agent = url.startsWith('http:') ? new http.Agent() : new https.Agent(ca ? { ca } : {});
  return { url, token, agent };
}

/**
 * Sends one request and resolves with the response once its head has arrived (its body still to be
 * read); a server that cannot be reached becomes an AppError `server_unreachable`. No timeout: a scan
 * or an import may take long.
 */
export async function openRequest(
  target: ClientTarget,
  method: HttpMethod,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer | NodeJS.ReadableStream,
): Promise<http.IncomingMessage> {
  const url = `${target.url}${path}`;
  const send = url.startsWith('http:') ? http.request : https.request;
  // A body that fails to read (a file that cannot be read) is this side's error, not the server's.
  let bodyError: Error | undefined;
  try {
    return await new Promise<http.IncomingMessage>((resolveRes, reject) => {
      const req = send(url, { method, headers, agent: target.agent }, resolveRes);
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        body.once('error', (e: Error) => (bodyError ??= e));
        pipeline(body, req).catch(reject);
      }
    });
  } catch (e) {
    if (bodyError)
      throw new AppError('upload_failed', `reading what was to be sent failed: ${bodyError.message}`, {
        kind: 'operational',
      });
    throw new AppError(
      'server_unreachable',
      `cannot reach Portcullis at ${target.url}: ${(e as Error).message}`,
      {
        kind: 'operational',
      },
    );
  }
}

/** The whole body of a response as text. */
export async function readText(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res as AsyncIterable<string>) text += chunk;
  return text;
}

/** The server's message in an error response body (JSON `message`), else the start of the text. */
export function errorMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown } | null)?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: keep the text
  }
  return text.slice(0, 500);
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One JSON request to the server; throws an AppError carrying the server's message on failure. */
export async function callApi<T = unknown>(
  target: ClientTarget,
  method: HttpMethod,
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
  const res = await openRequest(target, method, path, headers, body);
  const text = await readText(res);
  const status = res.statusCode ?? 0;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (status >= 400 && !opts.allowStatus?.includes(status)) {
    throw new AppError('api_error', `${method} ${path}: HTTP ${status}: ${errorMessage(text)}`, {
      kind: status >= 500 ? 'operational' : 'user',
    });
  }
  return { status, body: parsed as T };
}
