import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from './postgres.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'portcullis.js');

/** A real `portcullis serve` child process on a temporary data dir. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly token: string;
  readonly proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a JSON request with the admin token; returns status and parsed body. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Removes the data dir (after stop/kill). */
  cleanup(): void;
}

export const insecureAgent = new Agent({ connect: { rejectUnauthorized: false } });

/**
 * Starts `node bin/portcullis.js serve` (or node with `args`) with PORTCULLIS_* pointing at a temp
 * data dir (or the given one) and a free port, and waits until /health answers (60 s, or `timeoutMs`,
 * at most).
 */
export async function startServerProcess(
  opts: { dataDir?: string; env?: Record<string, string>; args?: string[]; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  const port = await freePort();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const proc = spawn(process.execPath, opts.args ?? [BIN, 'serve'], {
    env: {
      ...process.env,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_PORT: String(port),
      PORTCULLIS_HOST: '127.0.0.1',
      PORTCULLIS_LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      const res = await request(`${url}/health`, { dispatcher: insecureAgent });
      await res.body.text();
      if (res.statusCode === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not answer /health within ${timeoutMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return {
    url,
    port,
    dataDir,
    token,
    proc,
    output: () => out,
    async api(method, path, body, headers = {}) {
      const res = await request(`${url}${path}`, {
        method: method as 'GET',
        dispatcher: insecureAgent,
        headers: {
          'ph-auth-token': token,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : null,
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep text
      }
      return { status: res.statusCode, body: parsed as never, headers: res.headers };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs the CLI to completion; returns exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
