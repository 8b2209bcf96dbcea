import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildServer, loadTls, type AppContext } from './api/index.ts';
import type { Config } from './config/index.ts';
import { startBaselineSweep } from './baseline/index.ts';
import { startAutomation } from './automation/index.ts';
import { startScanning } from './scan/index.ts';
import { startConfiguredFlowCollector } from './ingest/index.ts';
import { auditConfigChanges, bootstrapAdmin, sealPlaintextTotpSecrets } from './identity/index.ts';
import type { Logger } from './logging/index.ts';
import { lockDataDir, openStore, redactUrl } from './store/index.ts';
import { ensureWebBuild } from './web/index.ts';
import { secretKeyFor } from './util/secret-box.ts';

/** A started server: its address and a way to stop it gracefully. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly ctx: AppContext;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts everything one standalone process runs: lock the data dir, open and migrate the store,
 * make sure an admin exists, serve HTTPS (and the optional HTTP redirect).
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(config.dataDir);
  const shutdownHooks: Array<() => Promise<void> | void> = [];
  try {
    logger.info(
      { dataDir: config.dataDir, database: config.databaseUrl ? redactUrl(config.databaseUrl) : 'embedded' },
      'opening store',
    );
    const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, logger });
    shutdownHooks.push(() => store.close());
    await bootstrapAdmin(store.db, config.dataDir, logger);
    const sealed = await sealPlaintextTotpSecrets(store.db, secretKeyFor(config));
    if (sealed > 0)
      logger.info({ users: sealed }, 'sealed TOTP seeds stored in plaintext by an older version');
    await auditConfigChanges(store.db, config);
    const ctx: AppContext = {
      config,
      store,
      db: store.db,
      logger,
      now: () => new Date(),
      onShutdown: (fn) => shutdownHooks.push(fn),
    };
    const tls = await loadTls({ dataDir: config.dataDir, certFile: config.tlsCert, keyFile: config.tlsKey });
    if (tls.generated) logger.info({ cert: tls.certPath }, 'generated a self-signed TLS certificate');
    await ensureWebBuild(logger);
    const app = await buildServer(ctx, { https: { cert: tls.cert, key: tls.key } });
    await app.listen({ port: config.port, host: config.host });
    startBaselineSweep(ctx);
    await startAutomation(ctx);
    await startScanning(ctx);
    await startConfiguredFlowCollector(ctx);
    const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `https://${shownHost}:${config.port}`;
    logger.info({ url, database: store.kind }, 'Portcullis is serving');

    let redirect: Server | undefined;
    if (config.httpRedirectPort) {
      redirect = createRedirectServer(config.port);
      await new Promise<void>((res, rej) => {
        redirect!.once('error', rej);
        redirect!.listen(config.httpRedirectPort, config.host, () => res());
      });
      logger.info({ port: config.httpRedirectPort }, 'plain HTTP redirects to HTTPS');
    }
    let stopping: Promise<void> | undefined;
    return {
      app,
      ctx,
      url,
      stop() {
        stopping ??= (async () => {
          if (redirect) await new Promise((r) => redirect!.close(() => r(undefined)));
          await app.close();
          for (const fn of shutdownHooks.reverse()) {
            try {
              await fn();
            } catch (e) {
              logger.warn({ err: e }, 'error during shutdown');
            }
          }
          lock.release();
        })();
        return stopping;
      },
    };
  } catch (e) {
    for (const fn of shutdownHooks.reverse()) await Promise.resolve(fn()).catch(() => {});
    lock.release();
    throw e;
  }
}

const API_PREFIXES = ['/rest', '/api', '/services/collector', '/health', '/ha'];

/**
 * Plain HTTP that only sends browsers to HTTPS. API paths get a 403 with no data: credentials and
 * answers never travel unencrypted.
 */
export function createRedirectServer(httpsPort: number): Server {
  return createServer((req, res) => {
    const path = req.url ?? '/';
    if (API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`))) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"failed":true,"code":"https_required","message":"the API answers only on HTTPS"}');
      return;
    }
    const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
    const safeHost = /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? host : 'localhost';
    const portPart = httpsPort === 443 ? '' : `:${httpsPort}`;
    res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 301 : 308, {
      location: `https://${safeHost}${portPart}${path}`,
    });
    res.end();
  });
}
