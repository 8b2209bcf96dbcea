import type { FastifyInstance, FastifyRequest } from 'fastify';
import { findPrincipalByToken, touchToken, type Principal } from '../identity/index.ts';
import { unauthenticated } from '../util/errors.ts';
import type { AppContext } from './context.ts';

/**
 * How a route authenticates, in its `config.auth`:
 * - `token` (default): a `ph-auth-token` header (or HTTP Basic with the token as password);
 * - `public`: no credentials (only `/health` and login);
 * - `hec`: the route checks `Authorization: Splunk <token>` itself.
 */
export type RouteAuth = 'token' | 'public' | 'hec';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The credential presented by a request, if any. */
export function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers['ph-auth-token'];
  if (typeof h === 'string' && h.trim()) return h.trim();
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const [scheme, rest] = auth.split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer' && rest) return rest;
    if (scheme?.toLowerCase() === 'basic' && rest) {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0 && decoded.slice(i + 1)) return decoded.slice(i + 1);
    }
  }
  return undefined;
}

/** Authenticates every request before routing; routes opt out only with `config.auth`. */
export function installAuth(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const mode: RouteAuth = req.routeOptions.config?.auth ?? 'token';
    if (mode === 'public' || mode === 'hec') return;
    const token = presentedToken(req);
    if (!token) throw unauthenticated();
    const principal = await findPrincipalByToken(ctx.db, token);
    if (!principal || principal.tokenKind !== 'api') throw unauthenticated('invalid, expired or revoked token');
    req.principal = principal;
    if (principal.tokenId !== null) void touchToken(ctx.db, principal.tokenId).catch(() => {});
  });
}
