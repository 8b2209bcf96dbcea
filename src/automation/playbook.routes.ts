import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import type { Database } from '../store/index.ts';
import { badRequest, notFound } from '../util/errors.ts';
import type { AppDefinition } from './app.types.ts';
import {
  createAsset,
  deleteAsset,
  getAssetRow,
  toAssetView,
  updateAsset,
  type AssetInput,
} from './asset.repository.ts';
import {
  cancelActionRun,
  cancelPlaybookRun,
  clearPlaybookCache,
  queueActionRun,
  startPlaybookRun,
} from './playbook.engine.ts';
import { answerPrompt, getApproval, listApprovals } from './prompt.repository.ts';
import { acceptJsonWithAnyContentType, parseBody } from './rest/index.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';
import { automationRuntime } from './run.service.ts';
import type { ActionRunTable, AppRunTable, PlaybookRunTable, PlaybookTable } from './run.table.ts';

const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive id') });
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

type Query = Record<string, unknown>;

async function listTable<T extends keyof Database & string, V>(
  db: Kysely<Database>,
  table: T,
  spec: ListSpec,
  query: Query,
  map: (row: Selectable<Database[T]>) => V,
): Promise<ListEnvelope<V>> {
  const q = parseListQuery(query, spec);
  // The table name is a parameter here; row types are restored by the caller's `map`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const d = db as unknown as Kysely<any>;
  return runList(q, spec, {
    count: async (where) =>
      Number(
        (
          await d
            .selectFrom(table as string)
            .select(sql<number>`count(*)`.as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = d
        .selectFrom(table as string)
        .selectAll()
        .where(where)
        .orderBy(order)
        .offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute() as Promise<Array<Selectable<Database[T]>>>;
    },
    map,
  });
}

// ---- views (Splunk SOAR's field names, plus the *_id spellings the web console reads) ----

export function toPlaybookView(r: Selectable<PlaybookTable>) {
  return {
    id: r.id,
    name: r.name,
    scm: r.scm,
    repo: r.scm,
    version: r.version,
    active: r.active,
    description: r.description,
    labels: r.labels,
    label: r.labels,
    tags: r.tags,
    create_time: iso(r.create_time),
    update_time: iso(r.update_time),
  };
}

/** Splunk SOAR reports a run as `running` until it ends; `state` tells pending/waiting apart. */
export function toPlaybookRunView(r: Selectable<PlaybookRunTable>, names: Map<number, string>) {
  const open = r.status === 'pending' || r.status === 'running' || r.status === 'waiting';
  return {
    id: r.id,
    playbook: r.playbook_id,
    playbook_id: r.playbook_id,
    playbook_name: names.get(r.playbook_id) ?? null,
    playbook_version: r.playbook_version,
    container: r.container_id,
    container_id: r.container_id,
    status: open ? 'running' : r.status,
    state: r.status,
    message: r.message,
    messages: r.messages,
    scope: r.scope,
    trigger: r.trigger,
    attempts: r.attempts,
    cancel_requested: r.cancel_requested,
    create_time: iso(r.create_time),
    start_time: iso(r.start_time),
    update_time: iso(r.update_time),
    end_time: iso(r.end_time),
    deadline: iso(r.deadline),
  };
}

export function toActionRunView(r: Selectable<ActionRunTable>) {
  return {
    id: r.id,
    action: r.action,
    name: r.name,
    type: r.type,
    status: r.status,
    message: r.message,
    container: r.container_id,
    container_id: r.container_id,
    playbook_run: r.playbook_run_id,
    playbook_run_id: r.playbook_run_id,
    targets: r.targets,
    timeout_ms: r.timeout_ms,
    max_attempts: r.max_attempts,
    create_time: iso(r.create_time),
    start_time: iso(r.start_time),
    close_time: iso(r.close_time),
    update_time: iso(r.close_time ?? r.start_time ?? r.create_time),
  };
}

export function toAppRunView(r: Selectable<AppRunTable>) {
  const result = {
    status: r.status,
    message: r.message,
    summary: r.summary,
    data: r.data,
    parameter: r.parameter,
    ...(r.data_vault_id ? { data_vault_id: r.data_vault_id } : {}),
  };
  return {
    id: r.id,
    action_run: r.action_run_id,
    action_run_id: r.action_run_id,
    app: r.app_id,
    app_id: r.app_id,
    app_name: r.app_name,
    asset: r.asset_id,
    asset_id: r.asset_id,
    asset_name: r.asset_name,
    action: r.action,
    status: r.status,
    message: r.message,
    summary: r.summary,
    result_summary: r.summary,
    result_data: [result],
    attempts: r.attempts,
    create_time: iso(r.create_time),
    end_time: iso(r.end_time),
  };
}

export function toAppView(a: AppDefinition) {
  const m = a.manifest;
  return {
    id: m.appid,
    appid: m.appid,
    name: m.name,
    description: m.description,
    type: m.type,
    app_version: m.app_version,
    product_vendor: m.product_vendor,
    product_name: m.product_name,
    publisher: m.publisher,
    configuration: m.configuration,
    actions: m.actions,
  };
}

const PLAYBOOK_LIST: ListSpec = {
  type: 'playbook',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    scm: { column: 'scm', kind: 'text' },
    version: { column: 'version', kind: 'int' },
    active: { column: 'active', kind: 'bool' },
    labels: { column: 'labels', kind: 'jsonArray' },
    tags: { column: 'tags', kind: 'jsonArray' },
  },
};

const PLAYBOOK_RUN_LIST: ListSpec = {
  type: 'playbook_run',
  fields: {
    id: { column: 'id', kind: 'int' },
    playbook: { column: 'playbook_id', kind: 'int' },
    playbook_id: { column: 'playbook_id', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    container_id: { column: 'container_id', kind: 'int' },
    status: { column: 'status', kind: 'text' },
    trigger: { column: 'trigger', kind: 'text' },
    create_time: { column: 'create_time', kind: 'time' },
    update_time: { column: 'update_time', kind: 'time' },
    end_time: { column: 'end_time', kind: 'time' },
  },
};

const ACTION_RUN_LIST: ListSpec = {
  type: 'action_run',
  fields: {
    id: { column: 'id', kind: 'int' },
    action: { column: 'action', kind: 'text' },
    name: { column: 'name', kind: 'text' },
    status: { column: 'status', kind: 'text' },
    container: { column: 'container_id', kind: 'int' },
    container_id: { column: 'container_id', kind: 'int' },
    playbook_run: { column: 'playbook_run_id', kind: 'int' },
    playbook_run_id: { column: 'playbook_run_id', kind: 'int' },
    create_time: { column: 'create_time', kind: 'time' },
  },
};

const APP_RUN_LIST: ListSpec = {
  type: 'app_run',
  fields: {
    id: { column: 'id', kind: 'int' },
    action_run: { column: 'action_run_id', kind: 'int' },
    action_run_id: { column: 'action_run_id', kind: 'int' },
    app: { column: 'app_id', kind: 'text' },
    asset: { column: 'asset_id', kind: 'int' },
    status: { column: 'status', kind: 'text' },
    action: { column: 'action', kind: 'text' },
  },
};

const ASSET_LIST: ListSpec = {
  type: 'asset',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    app: { column: 'app_id', kind: 'text' },
    app_id: { column: 'app_id', kind: 'text' },
    tags: { column: 'tags', kind: 'jsonArray' },
  },
};

// ---- request bodies ----

const target = z.object({
  assets: z.array(z.union([z.string(), z.number().int()])).optional(),
  app_id: z.union([z.string(), z.number()]).optional(),
  app: z.string().optional(),
  parameters: z.array(z.record(z.string(), z.unknown())).optional(),
});
const actionRunBody = z.object({
  action: z.string().min(1, 'required'),
  container_id: z.number().int().positive().nullable().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  targets: z.array(target).min(1, 'at least one target'),
  timeout: z.number().positive().optional(),
  max_attempts: z.number().int().min(1).max(10).optional(),
});
const playbookRunBody = z.object({
  container_id: z.number().int().positive(),
  playbook_id: z.union([z.number().int().positive(), z.string().min(1)]),
  scope: z.union([z.enum(['new', 'all']), z.array(z.number().int())]).optional(),
  run: z.boolean().optional(),
});
const assetBody = z.object({
  name: z.string().optional(),
  app_id: z.string().optional(),
  appid: z.string().optional(),
  app: z.string().optional(),
  product_vendor: z.string().optional(),
  product_name: z.string().optional(),
  description: z.string().optional(),
  configuration: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
});
const cancelBody = z.object({ cancel: z.literal(true) });
const playbookPatch = z.object({ active: z.boolean() });
const answerBody = z.object({ responses: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])) });

async function playbookNames(db: Kysely<Database>): Promise<Map<number, string>> {
  const rows = await db.selectFrom('playbooks').select(['id', 'scm', 'name']).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * Splunk SOAR's automation routes: `/rest/app`, `/rest/asset`, `/rest/action_run`, `/rest/app_run`,
 * `/rest/playbook`, `/rest/playbook_run` and `/rest/approval` (prompts).
 */
export async function registerAutomationRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const rt = automationRuntime(ctx);
  const db = ctx.db;
  await app.register(async (scope) => {
    acceptJsonWithAnyContentType(scope);
    const q = (req: FastifyRequest) => req.query as Query;

    scope.get('/rest/app', async (req) => {
      const all = rt.apps.list().map(toAppView);
      const lq = parseListQuery(
        { ...q(req), ...(q(req).page_size === undefined ? { page_size: '0' } : {}) },
        { type: 'app', fields: { id: { column: 'id', kind: 'text' } } },
      );
      const data = lq.pageSize ? all.slice(lq.page * lq.pageSize, (lq.page + 1) * lq.pageSize) : all;
      return { count: all.length, num_pages: lq.pageSize ? Math.ceil(all.length / lq.pageSize) : 1, data };
    });
    scope.get('/rest/app/:id', async (req) => {
      const { id } = req.params as { id: string };
      const a =
        rt.apps.get(id) ?? rt.apps.list().find((x) => x.manifest.name.toLowerCase() === id.toLowerCase());
      if (!a) throw notFound(`app ${id}`);
      return toAppView(a);
    });

    scope.get('/rest/asset', async (req) =>
      listTable(db, 'assets', ASSET_LIST, q(req), (r) => toAssetView(r, rt.apps)),
    );
    scope.post('/rest/asset', async (req) => {
      const id = await createAsset(
        db,
        rt.apps,
        rt.deps.secretKey,
        parseBody(assetBody, req.body) as AssetInput,
      );
      return { id, success: true };
    });
    scope.get('/rest/asset/:id', { schema: { params: idParams } }, async (req) =>
      toAssetView(await getAssetRow(db, (req.params as { id: number }).id), rt.apps),
    );
    scope.post('/rest/asset/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const body = parseBody(assetBody, req.body ?? {});
      if (body.name !== undefined)
        throw badRequest('/name: an asset cannot be renamed (its secrets are bound to its name)');
      await updateAsset(db, rt.apps, rt.deps.secretKey, id, body as AssetInput);
      return { id, success: true };
    });
    scope.delete('/rest/asset/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      await deleteAsset(db, id);
      return { id, success: true };
    });

    scope.post('/rest/action_run', async (req) => {
      const b = parseBody(actionRunBody, req.body);
      const id = await queueActionRun(rt.deps, {
        action: b.action,
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.type !== undefined ? { type: b.type } : {}),
        container_id: b.container_id ?? null,
        targets: b.targets.map((t) => ({
          ...(t.assets ? { assets: t.assets } : {}),
          ...(t.app_id !== undefined ? { app_id: String(t.app_id) } : {}),
          ...(t.app ? { app: t.app } : {}),
          ...(t.parameters ? { parameters: t.parameters } : {}),
        })),
        ...(b.timeout !== undefined ? { timeout_ms: Math.round(b.timeout * 1000) } : {}),
        ...(b.max_attempts !== undefined ? { max_attempts: b.max_attempts } : {}),
        created_by: req.principal?.userId ?? null,
      });
      rt.wake();
      return { action_run_id: id, success: true };
    });
    scope.get('/rest/action_run', async (req) =>
      listTable(db, 'action_runs', ACTION_RUN_LIST, q(req), toActionRunView),
    );
    scope.get('/rest/action_run/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const r = await db.selectFrom('action_runs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound(`action run ${id}`);
      return toActionRunView(r);
    });
    scope.post('/rest/action_run/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      parseBody(cancelBody, req.body ?? {});
      await cancelActionRun(db, id);
      rt.worker?.cancelLocal('action_run', id);
      return { id, success: true };
    });
    scope.get('/rest/app_run', async (req) => listTable(db, 'app_runs', APP_RUN_LIST, q(req), toAppRunView));
    scope.get('/rest/app_run/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const r = await db.selectFrom('app_runs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound(`app run ${id}`);
      return toAppRunView(r);
    });

    scope.get('/rest/playbook', async (req) => {
      await rt.ready;
      return listTable(db, 'playbooks', PLAYBOOK_LIST, q(req), toPlaybookView);
    });
    scope.get('/rest/playbook/:id', { schema: { params: idParams } }, async (req) => {
      await rt.ready;
      const { id } = req.params as { id: number };
      const r = await db.selectFrom('playbooks').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound(`playbook ${id}`);
      return toPlaybookView(r);
    });
    scope.post('/rest/playbook/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const b = parseBody(playbookPatch, req.body ?? {});
      const r = await db
        .updateTable('playbooks')
        .set({ active: b.active, update_time: new Date() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r.numUpdatedRows) throw notFound(`playbook ${id}`);
      clearPlaybookCache(db);
      return { id, success: true };
    });

    scope.post('/rest/playbook_run', async (req) => {
      await rt.ready;
      const b = parseBody(playbookRunBody, req.body);
      const id = await startPlaybookRun(db, rt.deps, {
        playbook: b.playbook_id,
        containerId: b.container_id,
        scope: b.scope ?? 'new',
        trigger: 'rest',
        userId: req.principal?.userId ?? null,
      });
      rt.wake();
      return { playbook_run_id: id, recieved: true };
    });
    scope.get('/rest/playbook_run', async (req) => {
      const names = await playbookNames(db);
      return listTable(db, 'playbook_runs', PLAYBOOK_RUN_LIST, q(req), (r) => toPlaybookRunView(r, names));
    });
    scope.get('/rest/playbook_run/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const r = await db.selectFrom('playbook_runs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw notFound(`playbook run ${id}`);
      const steps = await db
        .selectFrom('playbook_run_steps')
        .select(['seq', 'kind', 'name', 'create_time'])
        .where('run_id', '=', id)
        .orderBy('seq')
        .execute();
      const waiting = await db
        .selectFrom('prompts')
        .select('id')
        .where('playbook_run_id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return {
        ...toPlaybookRunView(r, await playbookNames(db)),
        waiting_on_approval: waiting?.id ?? null,
        steps: steps.map((s) => ({
          seq: s.seq,
          step: s.kind,
          name: s.name,
          status: 'success',
          finished_at: iso(s.create_time),
        })),
      };
    });
    scope.post('/rest/playbook_run/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      parseBody(cancelBody, req.body ?? {});
      await cancelPlaybookRun(db, id);
      rt.worker?.cancelLocal('playbook_run', id);
      rt.wake();
      return { id, success: true, cancelled: true };
    });

    scope.get('/rest/approval', async (req) => listApprovals(db, q(req)));
    scope.get('/rest/approval/:id', { schema: { params: idParams } }, async (req) =>
      getApproval(db, (req.params as { id: number }).id),
    );
    scope.post('/rest/approval/:id', { schema: { params: idParams } }, async (req) => {
      const { id } = req.params as { id: number };
      const b = parseBody(answerBody, req.body ?? {});
      const view = await answerPrompt(db, id, b.responses, req.principal!);
      rt.wake();
      return { ...view, success: true };
    });
  });
}
