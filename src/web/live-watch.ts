import type { AppContext } from '../api/context.ts';
import { scanRunnerFor } from '../scan/index.ts';
import { eventBus, publishEvent } from './event-bus.ts';

/**
 * Turns changes of stored state into live events for areas that do not publish them themselves:
 * playbook runs, action runs, prompts, imports, services and scan progress. While at least one
 * browser listens on `/api/events`, it reads a few indexed maxima every `intervalMs` (nothing when
 * nobody listens) and publishes what changed. Areas that call `publishEvent` directly make their
 * events arrive sooner; both may be on at once (the console only refreshes, twice is harmless).
 */
export function startLiveWatch(
  ctx: AppContext,
  intervalMs = 1500,
  hooks: { onTick?: () => void } = {},
): () => void {
  const { db } = ctx;
  const seen = {
    run: '',
    action: '',
    prompt: '',
    importId: 0,
    service: '',
    scans: new Map<number, string>(),
  };
  let primed = false;
  let busy = false;
  const disabled = new Set<string>();

  // One probe per area: a table that does not exist (yet) switches only that probe off.
  const probe = async (name: string, fn: () => Promise<void>) => {
    if (disabled.has(name)) return;
    try {
      await fn();
    } catch (err) {
      // A missing table (an area not installed) switches the probe off; anything else (a busy
      // database, a restart) is tried again on the next tick.
      if (/does not exist|no such table/i.test((err as Error).message)) {
        disabled.add(name);
        ctx.logger.debug({ err, probe: name }, 'live updates: probe switched off');
      } else ctx.logger.debug({ err, probe: name }, 'live updates: probe failed, retrying');
    }
  };

  const tick = async () => {
    // Nobody listens: read nothing. The state seen last stays, so changes made meanwhile are
    // published when a browser connects again (it refreshes what it shows; nothing is lost). The
    // first read happens at once, listeners or not: were it postponed to the first browser, a change
    // made just after that browser connected would be taken as the starting state and never shown.
    if (busy || (primed && eventBus.subscriberCount === 0)) return;
    busy = true;
    const publish = (type: string, payload: Record<string, unknown>) => {
      if (primed) publishEvent(type, payload);
    };
    try {
      await probe('playbook_runs', async () => {
        const r = await db
          .selectFrom('playbook_runs')
          .select(['id', 'container_id', 'status', 'update_time'])
          .orderBy('update_time', 'desc')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const key = r ? `${r.id}@${new Date(r.update_time).getTime()}:${r.status}` : '';
        if (r && key !== seen.run)
          publish('playbook_run_updated', { run_id: r.id, container_id: r.container_id, status: r.status });
        seen.run = key;
      });
      await probe('action_runs', async () => {
        const r = await db
          .selectFrom('action_runs')
          .select(['id', 'container_id', 'status'])
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const pending = await db
          .selectFrom('action_runs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', 'in', ['pending', 'running'])
          .executeTakeFirstOrThrow();
        const key = r ? `${r.id}:${r.status}:${Number(pending.n)}` : '';
        if (r && key !== seen.action)
          publish('action_run_updated', { run_id: r.id, container_id: r.container_id, status: r.status });
        seen.action = key;
      });
      await probe('prompts', async () => {
        const r = await db
          .selectFrom('prompts')
          .select((eb) => [eb.fn.max('id').as('max_id'), eb.fn.countAll<number>().as('n')])
          .where('status', '=', 'pending')
          .executeTakeFirstOrThrow();
        const last = await db
          .selectFrom('prompts')
          .select(['id', 'container_id'])
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const key = `${last?.id ?? 0}:${Number(r.n)}`;
        if (key !== seen.prompt) {
          const [lastId] = seen.prompt.split(':');
          publish(Number(lastId ?? 0) < (last?.id ?? 0) ? 'prompt_created' : 'prompt_answered', {
            prompt_id: last?.id ?? null,
            container_id: last?.container_id ?? null,
          });
        }
        seen.prompt = key;
      });
      await probe('imports', async () => {
        const r = await db
          .selectFrom('imports')
          .select(['id', 'status'])
          .where('finished_at', 'is not', null)
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (r && r.id !== seen.importId) publish('import_finished', { import_id: r.id, status: r.status });
        seen.importId = r?.id ?? 0;
      });
      await probe('services', async () => {
        const r = await db
          .selectFrom('services')
          .select((eb) => [eb.fn.max('id').as('max_id'), eb.fn.max('state_changed_at').as('changed')])
          .executeTakeFirstOrThrow();
        const key = `${r.max_id ?? 0}@${r.changed ? new Date(r.changed as Date).getTime() : 0}`;
        if (key !== seen.service) {
          const [lastMax] = seen.service.split('@');
          publish(Number(lastMax ?? 0) < Number(r.max_id ?? 0) ? 'service_new' : 'service_updated', {});
        }
        seen.service = key;
      });
      await probe('scan_runs', async () => {
        const runner = scanRunnerFor(ctx);
        const rows = await db
          .selectFrom('scan_runs')
          .select(['id', 'status', 'done', 'total', 'open_count'])
          .where((eb) => eb.or([eb('status', '=', 'running'), eb('id', 'in', [...seen.scans.keys(), 0])]))
          .execute();
        const still = new Map<number, string>();
        for (const r of rows) {
          const p = runner.progress(r.id);
          const done = p?.done ?? r.done;
          const total = p?.total ?? r.total;
          const key = `${r.status}:${done}/${total}:${r.open_count}`;
          if (seen.scans.get(r.id) !== key)
            publish('scan_progress', {
              scan_id: r.id,
              status: r.status,
              done,
              total,
              open: r.open_count,
              ...(p ? { rate: p.rate, eta: p.eta } : {}),
            });
          if (r.status === 'running') still.set(r.id, key);
          else if (seen.scans.has(r.id))
            publish('scan_finished', { scan_id: r.id, status: r.status, open: r.open_count });
        }
        seen.scans = still;
      });
      primed = true;
    } finally {
      busy = false;
    }
    hooks.onTick?.();
  };

  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
