import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logging/index.ts';

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

function newestMtime(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when web/dist is missing or older than the app's sources. */
export function webBuildIsStale(webDir = WEB_DIR): boolean {
  const built = newestMtime(join(webDir, 'dist', 'index.html'));
  if (built === 0) return true;
  const sources = Math.max(
    newestMtime(join(webDir, 'src')),
    newestMtime(join(webDir, 'index.html')),
    newestMtime(join(webDir, 'vite.config.ts')),
  );
  return sources > built;
}

/**
 * Builds the web console when `web/dist` is missing or older than `web/src` (a checkout updated
 * after `npm ci`). Without Vite installed (production install without dev dependencies) it logs what
 * to do and the server still serves the API.
 */
export async function ensureWebBuild(logger: Logger, webDir = WEB_DIR): Promise<void> {
  if (!existsSync(join(webDir, 'src')) || !webBuildIsStale(webDir)) return;
  const viteBin = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
  if (!existsSync(viteBin)) {
    logger.warn(
      'the web console is not built and Vite is not installed: run `npm ci` then `npm run build:web`',
    );
    return;
  }
  // Several servers may start at once (tests): one builds, the others wait for its result.
  const lockFile = join(webDir, '.build.lock');
  let lock: number;
  try {
    lock = openSync(lockFile, 'wx');
  } catch {
    // A lock left by a build that crashed (older than any real build) is taken over.
    if (Date.now() - newestMtime(lockFile) > 300_000) {
      rmSync(lockFile, { force: true });
      return ensureWebBuild(logger, webDir);
    }
    const deadline = Date.now() + 120_000;
    while (existsSync(lockFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    return;
  }
  let code: number | null;
  try {
    logger.info('building the web console (web/dist is missing or older than web/src)');
    code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [viteBin, 'build', '--config', join(webDir, 'vite.config.ts'), '--logLevel', 'warn'],
        {
          cwd: webDir,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      child.on('error', () => resolve(null));
      child.on('close', (c) => {
        if (c !== 0) logger.warn({ stderr }, 'building the web console failed');
        resolve(c);
      });
    });
  } finally {
    closeSync(lock);
    rmSync(lockFile, { force: true });
  }
  if (code === 0) logger.info('built the web console');
}
