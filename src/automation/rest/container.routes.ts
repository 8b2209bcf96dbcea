import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../api/context.ts';
import { listAudit } from '../../audit/audit.repository.ts';
import { badRequest, notFound } from '../../util/errors.ts';
import {
  addArtifacts,
  deleteArtifact,
  getArtifact,
  listArtifacts,
  updateArtifact,
  type NewContainerArtifact,
} from '../artifact.repository.ts';
import {
  createContainer,
  deleteContainer,
  getContainer,
  listContainers,
  requireContainer,
  updateContainer,
  type ArtifactResult,
} from '../container.repository.ts';
import { listNotes } from '../note.repository.ts';
import { actorOf, parseBody } from './rest-body.ts';

const time = z.string().nullable().optional();
const obj = z.record(z.string(), z.unknown());
const tags = z.array(z.string());

/** An artifact's fields (Splunk SOAR's names; unknown fields are ignored as Splunk does). */
const artifactFields = {
  name: z.string().optional(),
  label: z.string().optional(),
  type: z.string().optional(),
  severity: z.string().optional(),
  source_data_identifier: z.string().nullable().optional(),
  cef: obj.optional(),
  cef_types: z.record(z.string(), z.array(z.string())).optional(),
  data: obj.optional(),
  tags: tags.optional(),
  start_time: time,
  end_time: time,
  run_automation: z.boolean().optional(),
};
const inlineArtifact = z.object(artifactFields);
const newArtifact = z.object({
  ...artifactFields,
  container_id: z.number().int().positive(),
  container: z.unknown().optional(),
});

const owner = z.union([z.number().int(), z.string()]).nullable().optional();

const newContainer = z.object({
  name: z.string().min(1, 'a container needs a name'),
  label: z.string().min(1).optional(),
  description: z.string().optional(),
  severity: z.string().optional(),
  sensitivity: z.string().optional(),
  status: z.string().optional(),
  container_type: z.enum(['default', 'case']).optional(),
  source_data_identifier: z.string().nullable().optional(),
  owner_id: owner,
  owner: owner,
  tags: tags.optional(),
  custom_fields: obj.optional(),
  data: obj.optional(),
  start_time: time,
  end_time: time,
  due_time: time,
  run_automation: z.boolean().optional(),
  artifacts: z.array(z.unknown()).optional(),
});

const containerPatch = newContainer.omit({ artifacts: true, run_automation: true }).partial();

const artifactPatch = z.object(artifactFields).omit({ run_automation: true }).partial();

const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive id') });

/** How an artifact result is reported on the wire. */
function artifactAnswer(r: ArtifactResult): Record<string, unknown> {
  if ('id' in r) return { id: r.id, success: true };
  if ('existing_artifact_id' in r)
    return {
      existing_artifact_id: r.existing_artifact_id,
      failed: true,
      message: 'duplicate: an artifact with this source_data_identifier exists in the container',
    };
  return r;
}

/** `/rest/container` and `/rest/artifact` in Splunk SOAR's shapes. */
export function registerContainerRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;

  app.get('/rest/container', async (req) => listContainers(db, req.query as Record<string, unknown>));

  app.post('/rest/container', async (req) => {
    const body = parseBody(newContainer, req.body);
    // Inline artifacts are checked one by one: a bad one is reported in its slot, the rest are kept.
    const artifacts: Array<z.output<typeof inlineArtifact> | { invalid: string }> = (
      body.artifacts ?? []
    ).map((a, i) => {
      try {
        return parseBody(inlineArtifact, a, `artifacts/${i}`);
      } catch (e) {
        return { invalid: (e as Error).message };
      }
    });
    const valid = artifacts.filter((a): a is z.output<typeof inlineArtifact> => !('invalid' in a));
    const { artifacts: _raw, owner: ownerAlias, ...fields } = body;
    const ownerId = fields.owner_id !== undefined ? fields.owner_id : ownerAlias;
    const res = await createContainer(
      db,
      { ...fields, ...(ownerId !== undefined ? { owner_id: ownerId } : {}), artifacts: valid },
      { actor: actorOf(req) },
    );
    if (!res.created) {
      return {
        existing_container_id: res.existing_container_id,
        failed: true,
        message: `duplicate: container ${res.existing_container_id} has source_data_identifier ${JSON.stringify(body.source_data_identifier)}`,
      };
    }
    const out: { id: number; success: true; artifacts?: Array<Record<string, unknown>> } = {
      id: res.id,
      success: true,
    };
    if (body.artifacts !== undefined) {
      let k = 0;
      out.artifacts = artifacts.map((a) => {
        if ('invalid' in a) return { failed: true, message: a.invalid };
        const r = res.artifacts[k++]!;
        return 'id' in r ? { id: r.id } : r;
      });
    }
    return out;
  });

  app.get('/rest/container/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    const c = await getContainer(db, id);
    if (!c) throw notFound(`container ${id}`);
    return c;
  });

  app.post('/rest/container/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    const { owner: ownerAlias, ...patch } = parseBody(containerPatch, req.body ?? {});
    if (patch.owner_id === undefined && ownerAlias !== undefined) patch.owner_id = ownerAlias;
    await updateContainer(db, id, patch, { actor: actorOf(req) });
    return { id, success: true };
  });

  app.delete('/rest/container/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    if (!(await deleteContainer(db, id, { actor: actorOf(req) }))) throw notFound(`container ${id}`);
    return { id, success: true };
  });

  app.get('/rest/container/:id/artifacts', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    await requireContainer(db, id);
    return listArtifacts(db, req.query as Record<string, unknown>, id);
  });

  app.get('/rest/container/:id/notes', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    await requireContainer(db, id);
    return listNotes(db, req.query as Record<string, unknown>, id);
  });

  app.get('/rest/container/:id/audit', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    const q = { ...(req.query as Record<string, unknown>) };
    if (Object.keys(q).some((k) => k.startsWith('_filter_container')))
      throw badRequest('the container is given by the path');
    q._filter_container_id = String(id);
    return listAudit(db, q);
  });

  app.get('/rest/artifact', async (req) => listArtifacts(db, req.query as Record<string, unknown>));

  app.post('/rest/artifact', async (req, reply) => {
    const body = req.body;
    if (Array.isArray(body)) {
      const parsed = body.map((item, i) => {
        try {
          return parseBody(newArtifact, item, String(i));
        } catch (e) {
          return { invalid: (e as Error).message };
        }
      });
      const valid: NewContainerArtifact[] = parsed.flatMap((p) => ('invalid' in p ? [] : [p]));
      const results = await addArtifacts(db, valid, { actor: actorOf(req) });
      let k = 0;
      return parsed.map((p) =>
        'invalid' in p ? { failed: true, message: p.invalid } : artifactAnswer(results[k++]!),
      );
    }
    const item = parseBody(newArtifact, body);
    const [r] = await addArtifacts(db, [item], { actor: actorOf(req) });
    if (r && 'failed' in r) return reply.status(400).send(r);
    return artifactAnswer(r!);
  });

  app.get('/rest/artifact/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    const a = await getArtifact(db, id);
    if (!a) throw notFound(`artifact ${id}`);
    return a;
  });

  app.post('/rest/artifact/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    await updateArtifact(db, id, parseBody(artifactPatch, req.body ?? {}), { actor: actorOf(req) });
    return { id, success: true };
  });

  app.delete('/rest/artifact/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    if (!(await deleteArtifact(db, id, { actor: actorOf(req) }))) throw notFound(`artifact ${id}`);
    return { id, success: true };
  });
}
