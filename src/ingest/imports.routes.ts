import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import { AppError, badRequest } from '../util/errors.ts';
import { finishImport, listImports, startImport } from './import.repository.ts';
import { ingestStream, isFormatName, type IngestOptions } from './ingest.service.ts';
import { FORMAT_NAMES } from './formats.ts';
import type { FormatName } from './observation.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const importQuery = z.object({
  format: z.string().optional(),
  host: z.string().max(256).optional(),
  filename: z.string().max(1024).optional(),
  learning: bool.optional(),
  observed_at: z.iso.datetime({ offset: true }).optional(),
});

const listQuery = z.object({
  limit: z.coerce.number().int().min(0).max(10_000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

interface ImportParams {
  format?: string | undefined;
  host?: string | undefined;
  filename?: string | undefined;
  learning?: boolean | undefined;
  observed_at?: string | undefined;
}

function checkFormat(name: string | undefined): FormatName | undefined {
  if (name === undefined || name === '' || name === 'auto') return undefined;
  if (!isFormatName(name))
    throw badRequest(`format "${name}" is not one of ${FORMAT_NAMES.join(', ')} (or auto)`);
  return name;
}

/** Drains what is left of a request body (bounded by the size limit) so the client reads our answer. */
async function drain(input: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const _ of input) void _;
  } catch {
    // the client went away; nothing to answer
  }
}

/**
 * `POST /api/imports`: a file as multipart/form-data (fields `format`, `host`, `learning`, then
 * `file`) or as the raw request body (`?format=&host=&filename=&learning=&observed_at=`), streamed
 * through the ingest pipeline; answers the import's summary. `GET /api/imports` lists past imports.
 */
export async function registerImportRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const maxBytes = ctx.config.importMaxBytes;
  await app.register(async (scope) => {
    // This scope reads bodies itself: any content type arrives as a stream, multipart as parts.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 4096 },
    });
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const r = scope.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/imports',
      { schema: { querystring: importQuery }, bodyLimit: maxBytes },
      async (req, reply) => {
        const params: ImportParams = { ...req.query };
        let input: AsyncIterable<Buffer>;
        if (req.isMultipart()) {
          const part = await req.file();
          if (!part) throw badRequest('multipart upload without a "file" part');
          for (const [name, field] of Object.entries(part.fields)) {
            const f = Array.isArray(field) ? field[0] : field;
            if (!f || f.type !== 'field' || typeof f.value !== 'string') continue;
            if (name === 'format' || name === 'host' || name === 'filename' || name === 'observed_at')
              params[name] = f.value;
            if (name === 'learning') params.learning = bool.parse(f.value);
          }
          params.filename ??= part.filename;
          input = part.file;
        } else {
          input = req.body as AsyncIterable<Buffer>;
          if (
            !input ||
            typeof (input as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function'
          )
            throw badRequest('send the file as the request body or as multipart/form-data');
        }
        let format: FormatName | undefined;
        try {
          format = checkFormat(params.format);
        } catch (e) {
          await drain(input);
          throw e;
        }
        const opts: IngestOptions = {
          maxBytes,
          ...(format ? { format } : {}),
          ...(params.filename ? { file: params.filename } : {}),
          ...(params.host ? { host: params.host } : {}),
          ...(params.learning !== undefined ? { learning: params.learning } : {}),
          ...(params.observed_at ? { observedAt: new Date(params.observed_at) } : {}),
        };
        const id = await startImport(ctx.db, {
          file: params.filename ?? null,
          format: format ?? null,
          host: params.host ?? null,
          learning: params.learning ?? null,
          username: req.principal?.username ?? null,
          at: ctx.now(),
        });
        try {
          const summary = await ingestStream(ctx, input, opts);
          await finishImport(ctx.db, id, {
            status: 'done',
            summary: { ...summary },
            format: summary.format,
            learning: summary.learning,
            at: ctx.now(),
          });
          return reply.send({ import_id: id, ...summary });
        } catch (e) {
          await finishImport(ctx.db, id, {
            status: 'failed',
            error: (e as Error).message,
            at: ctx.now(),
          }).catch(() => {});
          await drain(input);
          if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new AppError(
              'input_too_large',
              `input larger than the limit of ${maxBytes} bytes (PORTCULLIS_IMPORT_MAX_BYTES)`,
              { status: 413 },
            );
          throw e;
        }
      },
    );

    r.get('/api/imports', { schema: { querystring: listQuery } }, async (req) =>
      listImports(ctx.db, { limit: req.query.limit ?? 100, offset: req.query.offset ?? 0 }),
    );
  });
}
