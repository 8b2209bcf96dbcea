import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../api/context.ts';
import { registerAuditRoutes } from '../../audit/audit.routes.ts';
import { registerVaultRoutes } from '../../vault/vault.routes.ts';
import { registerContainerRoutes } from './container.routes.ts';
import { registerDecidedListRoutes } from './decided-list.routes.ts';
import { registerNoteRoutes } from './note.routes.ts';
import { acceptJsonWithAnyContentType } from './rest-body.ts';
import { registerSeverityStatusRoutes } from './severity-status.routes.ts';

export { acceptJsonWithAnyContentType, parseBody, actorOf } from './rest-body.ts';

/**
 * Splunk SOAR's object routes: `/rest/container`, `/rest/artifact`, `/rest/note`,
 * `/rest/decided_list`, `/rest/vault_add` + `/rest/vault_info`, `/rest/audit`, `/rest/severity`,
 * `/rest/container_status`. Registered in their own scope, where request bodies are JSON whatever
 * their content type.
 */
export async function registerSoarObjectRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(async (scope) => {
    acceptJsonWithAnyContentType(scope);
    registerContainerRoutes(scope, ctx);
    registerNoteRoutes(scope, ctx);
    registerDecidedListRoutes(scope, ctx);
    registerSeverityStatusRoutes(scope, ctx);
    registerVaultRoutes(scope, ctx);
    registerAuditRoutes(scope, ctx);
  });
}
