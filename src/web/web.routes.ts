import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../api/context.ts';
import { bridgeAutomationEvents } from './bridges.ts';
import { eventBus, type LiveEvent } from './event-bus.ts';
import { startLiveWatch } from './live-watch.ts';

/** Where `vite build` writes the single-page app (see web/vite.config.ts). */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Paths that belong to the API: never answered with the app's HTML. */
export const API_PREFIXES = ['/api', '/rest', '/services', '/health', '/ha', '/docs', '/openapi'];

export interface WebRoutesOptions {
  /** The built app; defaults to `web/dist` in the checkout. */
  distDir?: string;
  /** Seconds between keep-alive comments on event streams. */
  heartbeatSeconds?: number;
  /** Derive live events from stored state (runs, prompts, scans, services); default on. */
  liveWatch?: boolean;
}

const NOT_BUILT_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portcullis</title></head>
<body><h1>Portcullis</h1><p>The web console has not been built. Run <code>npm ci</code> (or <code>npm run build:web</code>)
in the checkout and reload. The REST API is available under <code>/rest/</code> and <code>/api/</code>.</p></body></html>`;

// A request for one of these that is not in the build is a 404, not a deep link (host pages end in
// digits such as /hosts/198.18.0.2, so any dot is not enough).
const STATIC_EXT = /\.(js|mjs|css|map|svg|png|jpe?g|gif|ico|webp|woff2?|ttf|json|txt|webmanifest)$/i;

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * Serves the web console (static files from the built app, `index.html` for every other non-API GET
 * path so the browser's router handles deep links) and the live-update stream `GET /api/events`.
 */
export async function registerWebRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  opts: WebRoutesOptions = {},
): Promise<void> {
  const distDir = opts.distDir ?? DEFAULT_DIST_DIR;
  bridgeAutomationEvents();
  if (opts.liveWatch !== false) {
    const stop = startLiveWatch(ctx);
    app.addHook('onClose', async () => stop());
  }
  registerEventStream(app, ctx, opts.heartbeatSeconds ?? 20);

  await app.register(async (scope) => {
    // Encapsulated: reply.sendFile stays local, so another area may register @fastify/static too.
    await scope.register(fastifyStatic, { root: distDir, serve: false, wildcard: false });

    const sendApp = async (req: FastifyRequest, reply: FastifyReply) => {
      const path = decodePath(req.url);
      if (path === null)
        return reply.status(400).send({ failed: true, code: 'bad_path', message: 'malformed URL path' });
      if (isApiPath(path)) {
        return reply.status(404).send({ failed: true, code: 'not_found', message: `no route GET ${path}` });
      }
      const file = path === '/' ? null : staticFile(distDir, path);
      if (file) {
        const immutable = file.startsWith(`assets${sep}`) || file.startsWith('assets/');
        return reply
          .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
          .sendFile(file, distDir, { cacheControl: false });
      }
      // A missing asset is a 404, not the app: a stale tab asking for an old bundle must learn it.
      if (path.startsWith('/assets/') || STATIC_EXT.test(path)) {
        return reply.status(404).type('text/plain').send('not found');
      }
      if (!existsSync(join(distDir, 'index.html'))) {
        return reply
          .status(503)
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(NOT_BUILT_HTML);
      }
      return reply
        .header('cache-control', 'no-cache')
        .sendFile('index.html', distDir, { cacheControl: false });
    };
    scope.get('/', { config: { auth: 'public' } }, sendApp);
    scope.get('/*', { config: { auth: 'public' } }, sendApp);
  });
}

function decodePath(url: string): string | null {
  const raw = url.split('?')[0] ?? '/';
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** The file under distDir for a URL path, relative to distDir, or null when there is none. */
function staticFile(distDir: string, path: string): string | null {
  if (path.includes('\0')) return null;
  const rel = normalize(path).replace(/^[/\\]+/, '');
  if (rel === '' || rel.startsWith('..') || rel.split(/[/\\]/).some((part) => part.startsWith('.')))
    return null;
  try {
    return statSync(join(distDir, rel)).isFile() ? rel : null;
  } catch {
    return null;
  }
}

function formatEvent(e: LiveEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ type: e.type, at: e.at, ...e.payload })}\n\n`;
}

function registerEventStream(app: FastifyInstance, ctx: AppContext, heartbeatSeconds: number): void {
  const open = new Set<() => void>();
  // Streams never end by themselves: close them before the server waits for connections to drain.
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.get('/api/events', async (req, reply) => {
    const lastId = Number(
      req.headers['last-event-id'] ?? (req.query as { last_event_id?: string }).last_event_id ?? NaN,
    );
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n: connected as ${req.principal?.username ?? 'unknown'}\n\n`);
    if (Number.isFinite(lastId)) for (const e of eventBus.since(lastId)) res.write(formatEvent(e));
    const unsubscribe = eventBus.subscribe((e) => {
      res.write(formatEvent(e));
    });
    const beat = setInterval(() => res.write(': ping\n\n'), heartbeatSeconds * 1000);
    beat.unref();
    const close = () => {
      if (!open.delete(close)) return;
      clearInterval(beat);
      unsubscribe();
      res.end();
    };
    open.add(close);
    req.raw.on('close', close);
    res.on('error', (err) => {
      ctx.logger.debug({ err }, 'event stream closed with an error');
      close();
    });
  });
}
