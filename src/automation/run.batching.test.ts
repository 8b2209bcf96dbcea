import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testStores } from '../testing/stores.ts';
import { createContainer } from './container.repository.ts';
import { automationEvents, type ContainerCreatedEvent } from './events.ts';
import { syncPlaybooks } from './playbook.engine.ts';
import type { PlaybookDefinition } from './playbook.types.ts';
import { installPlaybookTriggers } from './run.service.ts';
import { eventually, testDeps } from './run.testing.ts';
import { startAutomationWorker, type AutomationWorker } from './worker.ts';

// Each step echoes a value naming its run and step, so a step stored under the wrong action run
// (or an app run under the wrong action) shows.
const twoSteps: PlaybookDefinition = {
  name: 'two_steps',
  version: 1,
  labels: ['batch'],
  async run(pb) {
    for (const step of [1, 2])
      await pb.act('no op', {
        app: 'Utility',
        name: `step_${step}`,
        parameters: [{ value: `${pb.runId}:${step}` }],
      });
    return 'done';
  },
};

const RUNS = 40;

for (const [name, makeStore] of testStores()) {
  describe(`playbook runs started together on ${name}`, () => {
    it('queues a new container’s runs with it and stores every step of concurrent runs under its own action run', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [twoSteps]);
      let worker: AutomationWorker | undefined;
      const uninstall = installPlaybookTriggers(store.db, deps, () => worker?.wake());
      const events: ContainerCreatedEvent[] = [];
      const onCreated = (e: ContainerCreatedEvent) => void events.push(e);
      automationEvents.on('container_created', onCreated);
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const created = await Promise.all(
          Array.from({ length: RUNS }, (_, i) =>
            createContainer(store.db, {
              name: `c${i}`,
              label: 'batch',
              source_data_identifier: `batch:${i}`,
              artifacts: [{ name: 'listener', cef: { destinationPort: 1000 + i } }],
            }),
          ),
        );
        const containerIds = created.map((c) => (c.created ? c.id : -1));
        // no worker yet: the runs and their jobs were stored with the containers
        const runs = await store.db
          .selectFrom('playbook_runs')
          .select(['id', 'container_id', 'status', 'trigger'])
          .orderBy('id')
          .execute();
        assert.equal(runs.length, RUNS);
        assert.deepEqual(new Set(runs.map((r) => r.container_id)), new Set(containerIds));
        for (const r of runs) assert.deepEqual([r.status, r.trigger], ['pending', 'container_created']);
        const jobs = await store.db.selectFrom('automation_jobs').select('ref_id').execute();
        assert.deepEqual(new Set(jobs.map((j) => j.ref_id)), new Set(runs.map((r) => r.id)));
        assert.equal(events.length, RUNS);
        for (const e of events) {
          const run = runs.find((r) => r.container_id === e.containerId);
          assert.deepEqual(e.playbookRunIds, [run!.id]);
        }

        worker = startAutomationWorker(deps, { pollMs: 20 });
        await eventually(
          async () => {
            const left = await store.db
              .selectFrom('playbook_runs')
              .select('id')
              .where('status', '<>', 'success')
              .execute();
            return left.length === 0 ? true : undefined;
          },
          60_000,
          'every run to succeed',
        );
        const steps = await store.db
          .selectFrom('playbook_run_steps')
          .select(['run_id', 'seq', 'kind', 'name', 'result'])
          .orderBy('run_id')
          .orderBy('seq')
          .execute();
        assert.equal(steps.length, RUNS * 2);
        const actionRuns = await store.db.selectFrom('action_runs').selectAll().execute();
        const appRuns = await store.db.selectFrom('app_runs').selectAll().execute();
        assert.equal(actionRuns.length, RUNS * 2);
        assert.equal(appRuns.length, RUNS * 2);
        for (const s of steps) {
          const value = `${s.run_id}:${s.seq}`;
          assert.deepEqual([s.kind, s.name], ['act', `step_${s.seq}`]);
          const result = s.result as {
            action_run_id: number;
            status: string;
            results: Array<{ data: unknown[] }>;
          };
          assert.equal(result.status, 'success');
          assert.deepEqual(result.results[0]!.data, [{ value }]);
          const ar = actionRuns.find((a) => a.id === result.action_run_id);
          assert.ok(ar, `step ${value} points at an existing action run`);
          assert.deepEqual(
            [ar.playbook_run_id, ar.step_seq, ar.status, ar.name],
            [s.run_id, s.seq, 'success', `step_${s.seq}`],
          );
          const app = appRuns.filter((a) => a.action_run_id === ar.id);
          assert.equal(app.length, 1);
          assert.deepEqual(app[0]!.parameter, { value });
          assert.deepEqual(app[0]!.data, [{ value }]);
        }
        const left = await store.db.selectFrom('automation_jobs').select('id').execute();
        assert.equal(left.length, 0, 'finished runs leave no job');
      } finally {
        automationEvents.off('container_created', onCreated);
        uninstall();
        await worker?.stop();
        await store.close();
      }
    });
  });
}
