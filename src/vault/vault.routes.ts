import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import { actorOf, parseBody } from '../automation/rest/rest-body.ts';
import { AppError, badRequest, httpStatusOf, notFound } from '../util/errors.ts';
import { addVaultFile, getVaultFile, listVaultInfo } from './vault.repository.ts';
import { openVault, tooLarge } from './vault.store.ts';

const vaultAdd = z.object({
  container_id: z.number().int().positive().nullable().optional(),
  container: z.number().int().positive().optional(),
  file_content: z.string(),
  file_name: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive id') });
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

/** `/rest/vault_add`, `/rest/vault_info` and downloads, in Splunk SOAR's shapes. */
export function registerVaultRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;
  const max = ctx.config.vaultMaxBytes;

  app.post(
    '/rest/vault_add',
    // base64 grows bytes by 4/3; leave room for the other fields.
    { bodyLimit: Math.ceil(max / 3) * 4 + 1024 * 1024 },
    async (req, reply) => {
      try {
        const body = parseBody(vaultAdd, req.body);
        if (!BASE64.test(body.file_content))
          throw badRequest('file_content: not base64', { pointer: '/file_content' });
        if (Math.floor((body.file_content.replace(/\s/g, '').length * 3) / 4) > max + 2) throw tooLarge(max);
        const data = Buffer.from(body.file_content, 'base64');
        if (data.length > max) throw tooLarge(max);
        const r = await addVaultFile(db, ctx, {
          containerId: body.container_id ?? body.container ?? null,
          data,
          ...(body.file_name !== undefined ? { fileName: body.file_name } : {}),
          ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
          actor: actorOf(req),
        });
        return {
          succeeded: true,
          message: 'success',
          id: r.id,
          vault_id: r.vault_id,
          hash: r.vault_id,
          size: r.size,
          container: body.container_id ?? body.container ?? null,
        };
      } catch (e) {
        // vault_add clients test `succeeded`; errors carry it too.
        const status = httpStatusOf(e);
        if (status >= 500) throw e;
        const err = e as AppError;
        return reply
          .status(status)
          .send({ succeeded: false, failed: true, code: err.code ?? 'bad_request', message: err.message });
      }
    },
  );

  app.get('/rest/vault_info', async (req) => ({
    succeeded: true,
    ...(await listVaultInfo(db, ctx, req.query as Record<string, unknown>)),
  }));

  // A container's files (Splunk SOAR's attachments), with the list semantics.
  app.get('/rest/container/:id/attachments', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    if (!(await db.selectFrom('containers').select('id').where('id', '=', id).executeTakeFirst()))
      throw notFound(`container ${id}`);
    const { container_id: _ignored, ...query } = req.query as Record<string, unknown>;
    return listVaultInfo(db, ctx, { ...query, container_id: String(id) });
  });

  app.get('/rest/vault_document/:id/download', { schema: { params: idParams } }, async (req, reply) => {
    const { id } = req.params as z.output<typeof idParams>;
    const f = await getVaultFile(db, id);
    if (!f) throw notFound(`vault document ${id}`);
    const { stream, size } = await openVault(ctx, f.vault_id);
    const safeName = f.name.replace(/[^\w.\- ]/g, '_') || f.vault_id;
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', size)
      .header('content-disposition', `attachment; filename="${safeName}"`)
      .send(stream);
  });
}
