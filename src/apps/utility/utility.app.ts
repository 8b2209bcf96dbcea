import { loadManifest } from '../../automation/app.registry.ts';
import type { AppDefinition } from '../../automation/app.types.ts';

/** Built-in app with a no-op action, for testing playbooks and benchmarking the engine. */
export const utilityApp: AppDefinition = {
  manifest: loadManifest(new URL('./utility.json', import.meta.url)),
  async execute(ctx, params) {
    if (ctx.action === 'test_connectivity') return { status: 'success', message: 'ok' };
    const ms = Number(params.sleep_ms ?? 0);
    if (ms > 0)
      await new Promise<void>((res) => {
        const t = setTimeout(res, ms);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
      });
    const value = params.value === undefined ? null : String(params.value);
    return { status: 'success', message: 'done', summary: {}, data: [{ value }] };
  },
};
