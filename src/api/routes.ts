import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';
import { registerHealthRoutes } from './health.routes.ts';
import { registerAutomationRoutes, registerSoarObjectRoutes } from '../automation/index.ts';
import { registerIdentityRoutes } from '../identity/index.ts';
import { registerWebRoutes } from '../web/index.ts';
import { registerServiceRoutes } from '../baseline/index.ts';
import { registerHecRoutes, registerImportRoutes } from '../ingest/index.ts';
import { registerScanRoutes } from '../scan/index.ts';

/**
 * Every domain's routes, registered in one place. A domain exports `register…Routes(app, ctx)` from
 * its index.ts and adds one line here.
 */
export async function registerRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  registerHealthRoutes(app, ctx);
  registerIdentityRoutes(app, ctx);
  await registerSoarObjectRoutes(app, ctx);
  await registerAutomationRoutes(app, ctx);
  registerServiceRoutes(app, ctx);
  await registerImportRoutes(app, ctx);
  await registerHecRoutes(app, ctx);
  registerScanRoutes(app, ctx);
  // last: its GET /* fallback answers only paths no other route claims
  await registerWebRoutes(app, ctx);
}
