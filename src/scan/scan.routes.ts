import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import { badRequest, notFound } from '../util/errors.ts';
import { getRun, listResults, listRuns, type ScanResultView, type ScanRunView } from './scan.repository.ts';
import { prepareScan, scanRunnerFor, type ScanOutcome } from './scan.service.ts';
import type { StoredScanOptions } from './scan.table.ts';
import { scanSchedulerFor } from './scan.scheduler.ts';
import { deleteSchedule, getSchedule, listSchedules, setScheduleEnabled } from './schedule.repository.ts';
import { addScope, listScopes, removeScope } from './scope.repository.ts';

const num = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const targetsField = z.union([z.string().min(1), z.array(z.string().min(1).max(1000)).min(1).max(10_000)]);

const scanOptionsShape = {
  timeout_ms: num('timeout_ms', 10, 60_000).optional(),
  rate: num('rate', 0, 10_000_000).optional(),
  concurrency: num('concurrency', 1, 20_000).optional(),
  retries: num('retries', 0, 10).optional(),
  banner: z.boolean().optional(),
};

const scanBody = z.object({
  targets: targetsField,
  ports: z.string().min(1).max(100_000),
  ...scanOptionsShape,
  /** Stream progress and the result as NDJSON on this response (what the CLI does). */
  wait: z.boolean().optional(),
  /** Include closed and filtered ports in the streamed result (small scans only keep them). */
  all_states: z.boolean().optional(),
});

const scheduleBody = z.object({
  name: z.string().min(1).max(200),
  cron: z.string().min(1).max(200),
  targets: targetsField,
  ports: z.string().min(1).max(100_000),
  ...scanOptionsShape,
  enabled: z.boolean().optional(),
});

const scopeBody = z.object({
  cidr: z.string().min(1).max(100),
  kind: z.enum(['allow', 'exclude']).optional(),
  note: z.string().max(1000).optional(),
});

const idParam = z.object({ id: num('id', 1, Number.MAX_SAFE_INTEGER) });
const refParam = z.object({ ref: z.string().min(1).max(200) });

function optionsOf(b: z.infer<typeof scanBody> | z.infer<typeof scheduleBody>): StoredScanOptions {
  const o: StoredScanOptions = {};
  if (b.timeout_ms !== undefined) o.timeoutMs = b.timeout_ms;
  if (b.rate !== undefined) o.rate = b.rate;
  if (b.concurrency !== undefined) o.concurrency = b.concurrency;
  if (b.retries !== undefined) o.retries = b.retries;
  if (b.banner) o.banner = true;
  return o;
}

const asList = (t: string | string[]) => (Array.isArray(t) ? t : t.split(/[\s,]+/).filter(Boolean));

function summaryOf(o: ScanOutcome): Record<string, unknown> {
  return {
    ...o.run,
    duration_ms: Math.round(o.durationMs),
    probe_ms: Math.round(o.probeMs),
    cancelled: o.run.status === 'cancelled',
  };
}

/**
 * `/api/scopes` (what may be scanned), `/api/scans` (run, follow, cancel, list scans and their results)
 * and `/api/scans/schedules` (cron-scheduled scans).
 */
export function registerScanRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const runner = scanRunnerFor(ctx);

  r.get('/api/scopes', async () => {
    const data = await listScopes(ctx.db);
    return { count: data.length, data };
  });
  r.post('/api/scopes', { schema: { body: scopeBody } }, async (req, reply) => {
    const s = await addScope(ctx.db, {
      cidr: req.body.cidr,
      ...(req.body.kind ? { kind: req.body.kind } : {}),
      ...(req.body.note !== undefined ? { note: req.body.note } : {}),
      createdBy: req.principal?.username ?? null,
    });
    ctx.logger.info({ scope: s.cidr, kind: s.kind, by: s.created_by }, 'scan scope added');
    return reply.status(201).send(s);
  });
  // `ref` is an id or a CIDR with its slash URL-encoded (198.18.0.0%2F15); `?kind=` narrows a CIDR.
  r.delete(
    '/api/scopes/:ref',
    {
      schema: { params: refParam, querystring: z.object({ kind: z.enum(['allow', 'exclude']).optional() }) },
    },
    async (req) => {
      const ref = req.params.ref;
      const removed = /^\d+$/.test(ref)
        ? await removeScope(ctx.db, { id: Number(ref) })
        : await removeScope(ctx.db, { cidr: ref, ...(req.query.kind ? { kind: req.query.kind } : {}) });
      ctx.logger.info(
        { scopes: removed.map((s) => s.cidr), by: req.principal?.username },
        'scan scope removed',
      );
      return { removed: removed.length, data: removed };
    },
  );

  r.get(
    '/api/scans',
    {
      schema: {
        querystring: z.object({
          limit: num('limit', 0, 10_000).optional(),
          offset: num('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
          schedule_id: num('schedule_id', 1, Number.MAX_SAFE_INTEGER).optional(),
        }),
      },
    },
    async (req) =>
      listRuns(ctx.db, {
        limit: req.query.limit ?? 50,
        offset: req.query.offset ?? 0,
        ...(req.query.schedule_id !== undefined ? { scheduleId: req.query.schedule_id } : {}),
      }),
  );

  r.post('/api/scans', { schema: { body: scanBody } }, async (req, reply) => {
    const b = req.body;
    const prepared = await prepareScan(ctx, {
      targets: asList(b.targets),
      ports: b.ports,
      options: optionsOf(b),
    });
    const requestedBy = req.principal?.username ?? null;
    if (!b.wait) {
      const { run } = await runner.start(prepared, { requestedBy });
      return reply.status(202).send(run);
    }
    // NDJSON: a `started` line, `progress` lines, then `finished` with the rows. Closing the request
    // early cancels the scan (the CLI's Ctrl-C).
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const send = (obj: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(obj)}\n`);
    };
    let runId = 0;
    let finished = false;
    res.on('close', () => {
      if (!finished && runId) runner.cancel(runId);
    });
    try {
      const { run, outcome } = await runner.start(
        prepared,
        { requestedBy },
        { onProgress: (p) => send({ event: 'progress', ...p }), allStates: Boolean(b.all_states) },
      );
      runId = run.id;
      send({ event: 'started', scan: run });
      const o = await outcome;
      finished = true;
      const data = b.all_states ? o.results : o.results.filter((x) => x.state === 'open');
      send({ event: 'finished', scan: summaryOf(o), all_states: o.allStates, data });
    } catch (e) {
      finished = true;
      send({
        event: 'failed',
        failed: true,
        code: (e as { code?: string }).code ?? 'scan_failed',
        message: (e as Error).message,
      });
    }
    res.end();
  });

  r.get('/api/scans/:id', { schema: { params: idParam } }, async (req) => {
    const run = await getRun(ctx.db, req.params.id);
    if (!run) throw notFound(`scan ${req.params.id}`);
    const progress = runner.progress(run.id);
    return progress ? { ...run, done: progress.done, progress } : run;
  });

  r.get(
    '/api/scans/:id/results',
    { schema: { params: idParam, querystring: z.object({ state: z.string().max(100).optional() }) } },
    async (req) => {
      const run: ScanRunView | undefined = await getRun(ctx.db, req.params.id);
      if (!run) throw notFound(`scan ${req.params.id}`);
      const states = req.query.state?.split(',').filter(Boolean);
      for (const s of states ?? [])
        if (!['open', 'closed', 'filtered'].includes(s))
          throw badRequest(`state ${JSON.stringify(s)} is not open, closed or filtered`);
      const data: ScanResultView[] = await listResults(ctx.db, run.id, states);
      return { count: data.length, scan: run, data };
    },
  );

  r.post('/api/scans/:id/cancel', { schema: { params: idParam } }, async (req) => {
    const run = await getRun(ctx.db, req.params.id);
    if (!run) throw notFound(`scan ${req.params.id}`);
    const cancelled = runner.cancel(run.id);
    return { id: run.id, cancelled, status: cancelled ? 'cancelling' : run.status };
  });

  const scheduler = scanSchedulerFor(ctx);
  r.get('/api/scans/schedules', async () => {
    const data = (await listSchedules(ctx.db)).map((s) => ({
      ...s,
      next_run_at: scheduler.nextRun(s.id)?.toISOString() ?? null,
    }));
    return { count: data.length, data };
  });
  r.post('/api/scans/schedules', { schema: { body: scheduleBody } }, async (req, reply) => {
    const b = req.body;
    const s = await scheduler.add({
      name: b.name,
      cron: b.cron,
      targets: asList(b.targets),
      ports: b.ports,
      options: optionsOf(b),
      enabled: b.enabled ?? true,
    });
    return reply.status(201).send({ ...s, next_run_at: scheduler.nextRun(s.id)?.toISOString() ?? null });
  });
  const scheduleRef = async (ref: string) => {
    const s = await getSchedule(ctx.db, /^\d+$/.test(ref) ? Number(ref) : ref);
    if (!s) throw notFound(`scan schedule ${JSON.stringify(ref)}`);
    return s;
  };
  r.delete('/api/scans/schedules/:ref', { schema: { params: refParam } }, async (req) => {
    const s = await scheduleRef(req.params.ref);
    await deleteSchedule(ctx.db, s.id);
    scheduler.unschedule(s.id);
    return { removed: 1, data: [s] };
  });
  r.patch(
    '/api/scans/schedules/:ref',
    { schema: { params: refParam, body: z.object({ enabled: z.boolean() }) } },
    async (req) => {
      const s = await scheduleRef(req.params.ref);
      await setScheduleEnabled(ctx.db, s.id, req.body.enabled);
      await scheduler.reload();
      return { ...s, enabled: req.body.enabled, next_run_at: scheduler.nextRun(s.id)?.toISOString() ?? null };
    },
  );
  r.post('/api/scans/schedules/:ref/run', { schema: { params: refParam } }, async (req, reply) => {
    const s = await scheduleRef(req.params.ref);
    const run = await scheduler.runNow(s.id);
    return reply.status(202).send(run);
  });
}
