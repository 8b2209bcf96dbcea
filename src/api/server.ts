import helmet from '@fastify/helmet';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { AppError, httpStatusOf } from '../util/errors.ts';
import { installAuth } from './auth.ts';
import type { AppContext } from './context.ts';
import { registerRoutes } from './routes.ts';

export interface BuildServerOptions {
  https?: { cert: string; key: string };
  /** Largest request body accepted by default, in bytes (routes may raise it). */
  bodyLimit?: number;
}

/** Builds the HTTPS application (UI, REST, HEC) without listening; tests call `inject` on it. */
export async function buildServer(ctx: AppContext, opts: BuildServerOptions = {}): Promise<FastifyInstance> {
  const base: FastifyServerOptions = {
    loggerInstance: ctx.logger,
    bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024,
    trustProxy: false,
    return503OnClosing: true,
  };
  // TLS 1.2 is the floor: older protocol versions are refused at the handshake.
  const app = (opts.https
    ? Fastify({
        ...base,
        https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' },
      } as FastifyHttpsOptions<HttpsServer>)
    : Fastify(base)) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(helmet, {
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        pointer: `${err.validationContext ?? ''}${v.instancePath}`,
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({
        failed: true,
        code: 'invalid_request',
        message: `invalid request: ${issues.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; ')}`,
        issues,
      });
    }
    const status = httpStatusOf(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    const e = err as { code?: unknown; message?: string };
    const code =
      err instanceof AppError
        ? err.code
        : typeof e.code === 'string'
          ? e.code.toLowerCase()
          : 'internal_error';
    const message = status >= 500 && !(err instanceof AppError) ? 'internal error' : (e.message ?? 'error');
    return reply.status(status).send({
      failed: true,
      code,
      message,
      ...(err instanceof AppError && err.details ? { details: err.details } : {}),
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ failed: true, code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  await installAuth(app, ctx);
  await registerRoutes(app, ctx);
  return app;
}
