import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { badRequest } from '../../util/errors.ts';

/**
 * Splunk SOAR scripts often send JSON without a JSON content type (`curl -d '{…}'` sends
 * application/x-www-form-urlencoded; python-requests with `data=json.dumps(…)` sends none). Within the
 * `/rest` scope every body is read as JSON whatever its content type says.
 */
export function acceptJsonWithAnyContentType(scope: FastifyInstance): void {
  // Fastify's own JSON parser, which refuses __proto__ / constructor.prototype poisoning.
  const json = scope.getDefaultJsonParser('error', 'error');
  const parse = (req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    // An empty body (a DELETE sent with a JSON content type) is no body, not an error.
    if (body.trim() === '') return done(null, undefined);
    json(req, body, (err: Error | null, value?: unknown) =>
      err ? done(badRequest(`the request body is not JSON: ${err.message}`)) : done(null, value),
    );
  };
  scope.removeContentTypeParser(['application/json', 'text/plain']);
  scope.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded', 'text/plain'],
    { parseAs: 'string' },
    parse,
  );
  scope.addContentTypeParser('*', { parseAs: 'string' }, parse);
}

/** Formats a zod issue path as a field name: `artifacts/0/cef`. */
const pathOf = (path: ReadonlyArray<PropertyKey>) => path.map(String).join('/');

/**
 * Validates one request object against a schema; a failure is a user error whose message names the
 * field (`severity: expected string, received number`), prefixed for items of a bulk request.
 */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = [prefix, pathOf(issue.path)].filter(Boolean).join('/');
  throw badRequest(`${field ? `${field}: ` : ''}${issue.message}`, { pointer: `/${field}` });
}

/** Who is acting, for the audit trail: the signed-in user's name. */
export const actorOf = (req: FastifyRequest): string => req.principal?.username ?? 'system';
