import { ROLES, type Role } from './identity.table.ts';

/**
 * Who may call a route:
 * - `public`: anyone, no credentials (health, login, the web UI's static files);
 * - `hec`: the route authenticates `Authorization: Splunk <token>` itself with `authenticateHecToken`;
 * - a list of roles: a signed-in user (API token or browser session) whose role is in the list.
 */
export type Rule = 'public' | 'hec' | readonly Role[];

export const PUBLIC = 'public' as const;
export const HEC = 'hec' as const;
/** Every signed-in user: read-only views and the user's own account. */
export const ANY: readonly Role[] = ROLES;
/** People and scripts that work on containers, services, imports and scans. */
export const WORK: readonly Role[] = ['admin', 'analyst', 'automation'];
/** Scripts and admins: automation-only operations (ingest, runs triggered by integrations). */
export const SCRIPT: readonly Role[] = ['admin', 'automation'];
/** Users, tokens of others, settings, scopes, assets and their secrets. */
export const ADMIN: readonly Role[] = ['admin'];

/**
 * THE permission table: one line per route, `METHOD /fastify/route/path` → rule. A route that is not
 * listed here cannot be registered (see `installAuth` in src/api/auth.ts). HEAD routes follow their GET route.
 */
export const PERMISSIONS: Readonly<Record<string, Rule>> = {
  // health and HA
  'GET /health': PUBLIC,
  'GET /ha/check': PUBLIC,

  // sessions and the signed-in user's own account
  'POST /api/login': PUBLIC,
  'POST /api/logout': ANY,
  'POST /api/logout/all': ANY,
  'GET /api/me': ANY,
  'POST /api/me/password': ANY,
  'POST /api/me/totp': ANY,
  'POST /api/me/totp/confirm': ANY,
  'DELETE /api/me/totp': ANY,

  // users and tokens (non-admins see and revoke only their own tokens)
  'GET /api/users': ADMIN,
  'POST /api/users': ADMIN,
  'GET /api/users/:user': ADMIN,
  'PATCH /api/users/:user': ADMIN,
  'DELETE /api/users/:user': ADMIN,
  'PUT /api/users/:user/password': ADMIN,
  'POST /api/users/:user/logout': ADMIN,
  'GET /api/tokens': ANY,
  'POST /api/tokens': ANY,
  'DELETE /api/tokens/:id': ANY,
  'GET /rest/ph_user': ANY,
  'POST /rest/ph_user': ADMIN,
  'GET /rest/ph_user/:id': ANY,

  // Splunk SOAR objects: containers, artifacts, notes, custom lists, vault, severities, statuses
  'GET /rest/container': ANY,
  'POST /rest/container': WORK,
  'GET /rest/container/:id': ANY,
  'POST /rest/container/:id': WORK,
  'DELETE /rest/container/:id': WORK,
  'GET /rest/container/:id/artifacts': ANY,
  'GET /rest/container/:id/notes': ANY,
  'GET /rest/container/:id/audit': ANY,
  'GET /rest/container/:id/attachments': ANY,
  'GET /rest/artifact': ANY,
  'POST /rest/artifact': WORK,
  'GET /rest/artifact/:id': ANY,
  'POST /rest/artifact/:id': WORK,
  'DELETE /rest/artifact/:id': WORK,
  'GET /rest/note': ANY,
  'POST /rest/note': WORK,
  'GET /rest/note/:id': ANY,
  'POST /rest/note/:id': WORK,
  'DELETE /rest/note/:id': WORK,
  'GET /rest/decided_list': ANY,
  'POST /rest/decided_list': WORK,
  'GET /rest/decided_list/:name': ANY,
  'POST /rest/decided_list/:name': WORK,
  'DELETE /rest/decided_list/:name': WORK,
  'POST /rest/vault_add': WORK,
  'GET /rest/vault_info': ANY,
  'GET /rest/vault_document/:id/download': ANY,
  'GET /rest/severity': ANY,
  'POST /rest/severity': ADMIN,
  'GET /rest/container_status': ANY,
  'POST /rest/container_status': ADMIN,
  // automation: apps, assets (secrets never shown), actions, playbooks, runs, prompts
  'GET /rest/app': ANY,
  'GET /rest/app/:id': ANY,
  'GET /rest/asset': ANY,
  'POST /rest/asset': ADMIN,
  'GET /rest/asset/:id': ANY,
  'POST /rest/asset/:id': ADMIN,
  'DELETE /rest/asset/:id': ADMIN,
  'GET /rest/action_run': ANY,
  'POST /rest/action_run': WORK,
  'GET /rest/action_run/:id': ANY,
  'POST /rest/action_run/:id': WORK,
  'GET /rest/app_run': ANY,
  'GET /rest/app_run/:id': ANY,
  'GET /rest/playbook': ANY,
  'GET /rest/playbook/:id': ANY,
  'POST /rest/playbook/:id': ADMIN,
  'GET /rest/playbook_run': ANY,
  'POST /rest/playbook_run': WORK,
  'GET /rest/playbook_run/:id': ANY,
  'POST /rest/playbook_run/:id': WORK,
  'GET /rest/approval': ANY,
  'GET /rest/approval/:id': ANY,
  'POST /rest/approval/:id': WORK,
  // the audit log holds security events too (logins, tokens): admins only
  'GET /rest/audit': ADMIN,
  'GET /api/audit/export': ADMIN,

  // the built-in scanner: scopes decide what may be scanned (admins only); scans and schedules
  'GET /api/scopes': ANY,
  'POST /api/scopes': ADMIN,
  'DELETE /api/scopes/:ref': ADMIN,
  'GET /api/scans': ANY,
  'POST /api/scans': WORK,
  'GET /api/scans/:id': ANY,
  'GET /api/scans/:id/results': ANY,
  'POST /api/scans/:id/cancel': WORK,
  'GET /api/scans/schedules': ANY,
  'POST /api/scans/schedules': WORK,
  'DELETE /api/scans/schedules/:ref': WORK,
  'PATCH /api/scans/schedules/:ref': WORK,
  'POST /api/scans/schedules/:ref/run': WORK,

  // the service inventory (listeners) and evidence imports
  'GET /api/services': ANY,
  'GET /api/services/changes': ANY,
  'GET /api/services/:id': ANY,
  'POST /api/services/:id/state': WORK,
  'GET /api/imports': ANY,
  'POST /api/imports': WORK,

  // Splunk HEC-compatible ingest: HEC tokens (and admin/automation API tokens) via authenticateHecToken
  'POST /services/collector': HEC,
  'POST /services/collector/event': HEC,
  'POST /services/collector/event/1.0': HEC,
  'POST /services/collector/raw': HEC,
  'POST /services/collector/raw/1.0': HEC,
  'GET /services/collector/health': PUBLIC,
  'GET /services/collector/health/1.0': PUBLIC,

  // web console: the built app (static files, deep links) and its live-update stream
  'GET /': PUBLIC,
  'GET /*': PUBLIC,
  'GET /api/events': ANY,
};

/** The rule for a route, or undefined when the table has none. HEAD falls back to GET. */
export function ruleFor(
  method: string,
  url: string,
  table: Readonly<Record<string, Rule>> = PERMISSIONS,
): Rule | undefined {
  const m = method.toUpperCase();
  const rule = table[`${m} ${url}`];
  if (rule !== undefined) return rule;
  if (m === 'HEAD') return table[`GET ${url}`];
  return undefined;
}

/** Whether a signed-in user of `role` may call a route with this rule. */
export function roleAllowed(rule: Rule, role: Role): boolean {
  return rule === PUBLIC || (rule !== HEC && rule.includes(role));
}
