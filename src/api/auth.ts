import { timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { parseDuration } from '../config/index.ts';
import {
  ANY,
  CSRF_HEADER,
  csrfTokenFor,
  findPrincipalBySession,
  findPrincipalByToken,
  installChangeAudit,
  PERMISSIONS,
  roleAllowed,
  ruleFor,
  SESSION_COOKIE,
  touchToken,
  type Principal,
  type Rule,
} from '../identity/index.ts';
import { AppError, forbidden, unauthenticated } from '../util/errors.ts';
import type { AppContext } from './context.ts';

/**
 * Legacy per-route hint, read only for routes the permission table does not list yet:
 * `public` (no credentials) or `hec` (the route checks `Authorization: Splunk <token>` itself).
 * The permission table (`src/identity/permissions.ts`) is what decides.
 */
export type RouteAuth = 'token' | 'public' | 'hec';

/**
 * A route without a permission-table entry cannot be registered: `buildServer` throws and the server
 * does not start. (Tests of the check itself may turn it off to see the warning instead.)
 */
export const REQUIRE_ROUTE_RULES = true;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** One registered route, as the permission table sees it. */
export interface RegisteredRoute {
  method: string;
  url: string;
  rule: Rule | undefined;
}

const routesByApp = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route registered on an app built by `buildServer` (HEAD routes included), with its rule. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(routesByApp.get(app) ?? [])];
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PROTECTED_PREFIXES = ['/rest', '/api', '/services'];
// What a session of an admin who still has to enrol TOTP (PORTCULLIS_REQUIRE_ADMIN_TOTP) may reach.
const ENROLMENT_ROUTES = new Set([
  'GET /api/me',
  'POST /api/me/totp',
  'POST /api/me/totp/confirm',
  'POST /api/logout',
  'POST /api/logout/all',
]);

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The rule that applies to a route: the table's, or (only when rules are not required) the legacy hint. */
function effectiveRule(
  method: string,
  url: string,
  hint: RouteAuth | undefined,
  table: Readonly<Record<string, Rule>>,
): Rule {
  const rule = ruleFor(method, url, table);
  if (rule !== undefined) return rule;
  if (hint === 'public' || hint === 'hec') return hint;
  return ANY;
}

/**
 * Installs cookies, the login rate limiter, the route-rule check at registration (`onRoute`) and
 * authentication + authorisation of every request (`onRequest`): API token (`ph-auth-token`, Bearer or
 * Basic) or browser session cookie (with CSRF check on writes); then the route's rule from the
 * permission table decides (401 without credentials, 403 for a role not allowed).
 */
export async function installAuth(
  app: FastifyInstance,
  ctx: AppContext,
  opts: { requireRouteRules?: boolean; permissions?: Readonly<Record<string, Rule>> } = {},
): Promise<void> {
  const requireRules = opts.requireRouteRules ?? REQUIRE_ROUTE_RULES;
  const table = opts.permissions ?? PERMISSIONS;
  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  const routes: RegisteredRoute[] = [];
  routesByApp.set(app, routes);
  const idleMs = parseDuration(ctx.config.sessionIdleTimeout);

  app.addHook('onRoute', (opts: RouteOptions) => {
    const methods = Array.isArray(opts.method) ? opts.method : [opts.method];
    for (const method of methods) {
      const rule = ruleFor(method, opts.url, table);
      routes.push({ method, url: opts.url, rule });
      if (rule !== undefined || method === 'HEAD' || method === 'OPTIONS') continue;
      const message = `route ${method} ${opts.url} has no entry in the permission table (src/identity/permissions.ts): add one line naming who may call it`;
      if (requireRules) throw new AppError('route_without_rule', message, { kind: 'bug' });
      ctx.logger.warn({ method, url: opts.url }, message);
    }
  });

  installChangeAudit(app, ctx);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const matched = req.is404 ? undefined : req.routeOptions.url;
    const path = req.url.split('?')[0] ?? '';
    const under = (u: string) => PROTECTED_PREFIXES.some((p) => u === p || u.startsWith(`${p}/`));
    // API paths that only a catch-all (the web UI's fallback) or nothing matches ask for credentials
    // first: nobody probes for what exists without signing in. Other unmatched paths fall through.
    const url = matched !== undefined && (under(matched) || !under(path)) ? matched : undefined;
    let rule: Rule;
    if (url === undefined) {
      if (!under(path)) return;
      rule = ANY;
    } else rule = effectiveRule(req.method, url, req.routeOptions.config?.auth, table);
    if (rule === 'public' || rule === 'hec') return;

    const principal = await authenticate(req, ctx, idleMs);
    if (!principal) throw unauthenticated('authentication required: send a ph-auth-token header or sign in');
    req.principal = principal;
    if (url === undefined) return;
    const key = `${req.method === 'HEAD' ? 'GET' : req.method} ${url}`;
    if (principal.restricted && !ENROLMENT_ROUTES.has(key))
      throw new AppError(
        'totp_enrolment_required',
        'admins must enrol a TOTP second factor first: POST /api/me/totp',
        { status: 403 },
      );
    if (!roleAllowed(rule, principal.role))
      throw forbidden(`the ${principal.role} role may not call ${req.method} ${url}`);
  });
}

async function authenticate(
  req: FastifyRequest,
  ctx: AppContext,
  idleMs: number,
): Promise<(Principal & { restricted?: boolean }) | null> {
  const token = presentedToken(req);
  if (token) {
    const principal = await findPrincipalByToken(ctx.db, token, ctx.now());
    // HEC tokens only ingest: refused on every route but HEC's.
    if (!principal || principal.tokenKind !== 'api')
      throw unauthenticated('invalid, expired or revoked token');
    if (principal.tokenId !== null) void touchToken(ctx.db, principal.tokenId).catch(() => {});
    return principal;
  }
  const secret = req.cookies?.[SESSION_COOKIE];
  if (!secret) return null;
  const principal = await findPrincipalBySession(ctx.db, secret, { now: ctx.now(), idleMs });
  if (!principal) throw unauthenticated('your session has ended: sign in again');
  if (!SAFE_METHODS.has(req.method)) {
    // Cookie-authenticated writes need the session's CSRF token in a header a cross-site form cannot
    // set, and (when the browser sends one) an Origin of this very server.
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameText(sent, csrfTokenFor(secret)))
      throw new AppError('csrf_failed', `missing or wrong ${CSRF_HEADER} header`, { status: 403 });
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== 'null') {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost !== req.headers.host)
        throw new AppError('csrf_failed', 'cross-origin request refused', { status: 403 });
    } else if (origin === 'null')
      throw new AppError('csrf_failed', 'cross-origin request refused', { status: 403 });
  }
  return principal;
}
