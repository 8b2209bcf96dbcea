import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { AppContext } from '../api/context.ts';
import { ingestStream } from '../ingest/index.ts';
import { createLogger } from '../logging/index.ts';
import { testStores } from '../testing/stores.ts';
import { eventBus, type LiveEvent } from './event-bus.ts';
import { startLiveWatch } from './live-watch.ts';

const NMAP = new URL('../ingest/nmap/testdata/nmap-sT-sV.xml', import.meta.url);

for (const [name, makeStore] of testStores()) {
  describe(`live events from stored state (${name})`, () => {
    it('publishes service_new when an import adds listeners, reading only while someone listens', async () => {
      const store = await makeStore();
      const events: LiveEvent[] = [];
      let ticks = 0;
      let wake: (() => void) | undefined;
      const nextTick = () => new Promise<void>((r) => (wake = r));
      const ctx = {
        db: store.db,
        store,
        config: { goneAfter: '7d' },
        logger: createLogger('silent'),
        now: () => new Date(),
        onShutdown: () => {},
      } as unknown as AppContext;
      const stop = startLiveWatch(ctx, 20, {
        onTick: () => {
          ticks++;
          wake?.();
        },
      });
      try {
        // The starting state is read at once; then, nobody listening, nothing more is read.
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(ticks, 1);
        // A browser connects and an import lands before the watcher's next read: the change must
        // still be published (it once became the starting state and was never shown).
        const off = eventBus.subscribe((e) => events.push(e));
        async function* input() {
          yield readFileSync(NMAP);
        }
        const summary = await ingestStream(ctx, input(), { learning: true });
        assert.equal(summary.new_services, 4);
        await nextTick();
        await nextTick();
        assert.ok(
          events.some((e) => e.type === 'service_new'),
          `got ${events.map((e) => e.type).join(', ')}`,
        );
        off();
      } finally {
        stop();
        await store.close();
      }
    });
  });
}
