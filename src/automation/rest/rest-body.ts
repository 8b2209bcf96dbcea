import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { badRequest } from '../../util/errors.ts';

/**
 * Splunk SOAR scripts often send JSON without a JSON content type (`curl -d '{…}'` sends
 * application/x-www-form-urlencoded; python-requests with `data=json.dumps(…)` sends none). Within the
 * `/rest` scope every body is read as JSON whatever its content type says.
 */
export function acceptJsonWithAnyContentType(scope: FastifyInstance): void {
  const parse = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(badRequest(`the request body is not JSON: ${(e as Error).message}`));
    }
  };
  scope.removeContentTypeParser('text/plain');
  scope.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'text/plain'],
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
