import { parseDuration } from '../config/index.ts';
import type { BaselineContext } from './baseline.service.ts';
import { sweepBaseline } from './service.repository.ts';

/** Runs one sweep now: listeners not seen for `goneAfter` become gone; expired approvals lapse. */
export async function runBaselineSweep(
  ctx: BaselineContext,
  now: Date = ctx.now(),
): Promise<{ gone: number; expired: number }> {
  const res = await sweepBaseline(ctx.db, now, parseDuration(ctx.config.goneAfter));
  if (res.gone || res.expired) ctx.logger.info(res, 'baseline sweep: listeners gone / approvals expired');
  return res;
}

/**
 * Starts the periodic baseline sweep (every tenth of `goneAfter`, between 10 s and 10 min) and
 * registers its stop with `ctx.onShutdown`.
 */
export function startBaselineSweep(
  ctx: BaselineContext & { onShutdown(fn: () => Promise<void> | void): void },
): void {
  const every = Math.min(Math.max(parseDuration(ctx.config.goneAfter) / 10, 10_000), 600_000);
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = runBaselineSweep(ctx)
      .catch((e: unknown) => ctx.logger.error({ err: e }, 'baseline sweep failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, every);
  timer.unref();
  const first = setTimeout(tick, 1000);
  first.unref();
  ctx.onShutdown(async () => {
    clearInterval(timer);
    clearTimeout(first);
    await running;
  });
}
