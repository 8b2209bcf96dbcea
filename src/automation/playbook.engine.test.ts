import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testStores } from '../testing/stores.ts';
import { addArtifacts } from './artifact.repository.ts';
import { createContainer } from './container.repository.ts';
import { startPlaybookRun, syncPlaybooks, cancelPlaybookRun } from './playbook.engine.ts';
import type { PlaybookDefinition } from './playbook.types.ts';
import { answerPrompt } from './prompt.repository.ts';
import { eventually, testDeps } from './run.testing.ts';
import { startAutomationWorker } from './worker.ts';

const threeSteps: PlaybookDefinition = {
  name: 'three_steps',
  version: 1,
  labels: ['events'],
  async run(pb) {
    for (const v of ['a', 'b', 'c'])
      await pb.act('no op', { app: 'Utility', parameters: [{ value: v }], name: `step_${v}` });
    return 'three done';
  },
};

const asks: PlaybookDefinition = {
  name: 'asks',
  version: 1,
  labels: ['events'],
  async run(pb) {
    const a = await pb.prompt({
      message: 'go?',
      questions: [
        { prompt: 'Decision', options: { type: 'list', choices: ['yes', 'no'] } },
        { prompt: 'Why', options: { type: 'message' } },
      ],
      expiresInMs: Number((await pb.getList('asks_expiry'))?.[0]?.[0] ?? 60_000),
      defaults: ['no', ''],
    });
    await pb.addNote('answer', `${a.status}:${a.responses.join('|')}`);
    return `${a.status}:${a.responses[0]}`;
  },
};

const slow: PlaybookDefinition = {
  name: 'slow',
  version: 1,
  labels: ['events'],
  timeLimitMs: 60_000,
  async run(pb) {
    await pb.act('no op', { app: 'Utility', parameters: [{ sleep_ms: 30_000 }] });
    return 'slept';
  },
};

const limited: PlaybookDefinition = {
  name: 'limited',
  version: 1,
  labels: ['events'],
  timeLimitMs: 300,
  async run(pb) {
    await pb.act('no op', { app: 'Utility', parameters: [{ sleep_ms: 60_000 }] });
    return 'should not get here';
  },
};

const scoped: PlaybookDefinition = {
  name: 'scoped',
  version: 1,
  labels: ['events'],
  async run(pb) {
    return (await pb.artifacts()).map((a) => a.name).join(',');
  },
};

for (const [name, makeStore] of testStores()) {
  describe(`playbook runs on ${name}`, () => {
    it('runs a three-step playbook to success with a journal entry and an action run per step', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [threeSteps]);
      const worker = startAutomationWorker(deps, { pollMs: 20 });
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const c = await createContainer(store.db, { name: 'c1' });
        assert.ok(c.created);
        const id = await startPlaybookRun(store.db, deps, {
          playbook: 'local/three_steps',
          containerId: c.id,
          trigger: 'manual',
        });
        worker.wake();
        const run = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          return ['success', 'failed'].includes(r.status) ? r : undefined;
        });
        assert.equal(run.status, 'success', run.message);
        assert.equal(run.message, 'three done');
        const steps = await store.db
          .selectFrom('playbook_run_steps')
          .selectAll()
          .where('run_id', '=', id)
          .orderBy('seq')
          .execute();
        assert.deepEqual(
          steps.map((s) => s.name),
          ['step_a', 'step_b', 'step_c'],
        );
        const ars = await store.db
          .selectFrom('action_runs')
          .selectAll()
          .where('playbook_run_id', '=', id)
          .execute();
        assert.equal(ars.length, 3);
        assert.ok(ars.every((a) => a.status === 'success'));
        const apps = await store.db.selectFrom('app_runs').selectAll().execute();
        assert.deepEqual(apps.map((a) => (a.data[0] as { value: string }).value).sort(), ['a', 'b', 'c']);
        assert.equal(
          await store.db
            .selectFrom('automation_jobs')
            .selectAll()
            .execute()
            .then((r) => r.length),
          0,
        );
      } finally {
        await worker.stop();
        await store.close();
      }
    });

    it('waits on a prompt without a job, resumes with the answer, and takes the default on expiry', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [asks]);
      const worker = startAutomationWorker(deps, { pollMs: 20, sweepMs: 50 });
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const c = await createContainer(store.db, { name: 'c2' });
        assert.ok(c.created);
        const id = await startPlaybookRun(store.db, deps, {
          playbook: 'asks',
          containerId: c.id,
          trigger: 'manual',
        });
        worker.wake();
        const prompt = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .select('status')
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          if (r.status !== 'waiting') return undefined;
          return store.db
            .selectFrom('prompts')
            .selectAll()
            .where('playbook_run_id', '=', id)
            .executeTakeFirst();
        });
        assert.equal(prompt.status, 'pending');
        assert.equal(
          (await store.db.selectFrom('automation_jobs').selectAll().execute()).length,
          0,
          'a waiting run holds no job',
        );
        const principal = {
          userId: 1,
          username: 'alice',
          role: 'admin' as const,
          tokenId: null,
          tokenKind: 'api' as const,
        };
        await assert.rejects(
          answerPrompt(store.db, prompt.id, ['maybe', ''], principal),
          /must be one of yes, no/,
        );
        await answerPrompt(store.db, prompt.id, ['YES', 'because'], principal);
        worker.wake();
        const done = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          return r.status === 'success' || r.status === 'failed' ? r : undefined;
        });
        assert.equal(done.message, 'answered:yes');
        const note = await store.db
          .selectFrom('notes')
          .select('content')
          .where('container_id', '=', c.id)
          .executeTakeFirstOrThrow();
        assert.equal(note.content, 'answered:yes|because');

        // expiry: the default responses are taken
        await store.db
          .insertInto('decided_lists')
          .values({ name: 'asks_expiry', content: JSON.stringify([[1000]]) })
          .execute();
        const id2 = await startPlaybookRun(store.db, deps, {
          playbook: 'asks',
          containerId: c.id,
          trigger: 'manual',
        });
        worker.wake();
        const expired = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', id2)
            .executeTakeFirstOrThrow();
          return r.status === 'success' || r.status === 'failed' ? r : undefined;
        });
        assert.equal(expired.message, 'expired:no');
      } finally {
        await worker.stop();
        await store.close();
      }
    });

    it('ends a run past its time limit as failed with the reason', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [limited]);
      const worker = startAutomationWorker(deps, { pollMs: 20 });
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const c = await createContainer(store.db, { name: 'c4' });
        assert.ok(c.created);
        const id = await startPlaybookRun(store.db, deps, {
          playbook: 'limited',
          containerId: c.id,
          trigger: 'manual',
        });
        worker.wake();
        const run = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          return r.status === 'failed' || r.status === 'success' ? r : undefined;
        });
        assert.equal(run.status, 'failed');
        assert.equal(run.message, 'time limit of 300 ms exceeded');
        const ar = await store.db
          .selectFrom('action_runs')
          .select('status')
          .where('playbook_run_id', '=', id)
          .execute();
        assert.ok(ar.every((a) => a.status !== 'running' && a.status !== 'pending'));
      } finally {
        await worker.stop();
        await store.close();
      }
    });

    it('gives scope "new" the artifacts added since the previous run, "all" every one, ids just those', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [scoped]);
      const worker = startAutomationWorker(deps, { pollMs: 20 });
      const finished = async (id: number) =>
        eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          return r.status === 'success' || r.status === 'failed' ? r.message : undefined;
        });
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const c = await createContainer(store.db, {
          name: 'c5',
          artifacts: [{ name: 'a1' }, { name: 'a2' }],
        });
        assert.ok(c.created);
        const run = (scope: unknown) =>
          startPlaybookRun(store.db, deps, {
            playbook: 'scoped',
            containerId: c.id,
            trigger: 'manual',
            scope,
          });
        const first = await run('new');
        worker.wake();
        assert.equal(await finished(first), 'a1,a2');
        await new Promise((r) => setTimeout(r, 20));
        const [a3] = await addArtifacts(store.db, [{ container_id: c.id, name: 'a3' }]);
        const second = await run('new');
        worker.wake();
        assert.equal(await finished(second), 'a3');
        const all = await run('all');
        worker.wake();
        assert.equal(await finished(all), 'a1,a2,a3');
        const ids = await run([(a3 as { id: number }).id]);
        worker.wake();
        assert.equal(await finished(ids), 'a3');
      } finally {
        await worker.stop();
        await store.close();
      }
    });

    it('cancels a run that is in the middle of a slow action, without holding up a fast one', async () => {
      const store = await makeStore();
      const deps = testDeps(store, [slow, threeSteps]);
      const worker = startAutomationWorker(deps, { pollMs: 20, leaseMs: 600 });
      try {
        await syncPlaybooks(store.db, deps.playbooks);
        const c = await createContainer(store.db, { name: 'c3' });
        assert.ok(c.created);
        const slowId = await startPlaybookRun(store.db, deps, {
          playbook: 'slow',
          containerId: c.id,
          trigger: 'manual',
        });
        const fastId = await startPlaybookRun(store.db, deps, {
          playbook: 'three_steps',
          containerId: c.id,
          trigger: 'manual',
        });
        worker.wake();
        const fast = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', fastId)
            .executeTakeFirstOrThrow();
          return r.status === 'success' ? r : undefined;
        });
        assert.equal(fast.status, 'success');
        const s = await store.db
          .selectFrom('playbook_runs')
          .select('status')
          .where('id', '=', slowId)
          .executeTakeFirstOrThrow();
        assert.equal(s.status, 'running', 'the slow run is still in its action');
        await cancelPlaybookRun(store.db, slowId);
        const cancelled = await eventually(async () => {
          const r = await store.db
            .selectFrom('playbook_runs')
            .selectAll()
            .where('id', '=', slowId)
            .executeTakeFirstOrThrow();
          return r.status === 'cancelled' ? r : undefined;
        });
        assert.equal(cancelled.status, 'cancelled');
        // the interrupted action is recorded as it stops, which may be just after the run ends
        const ar = await eventually(async () => {
          const r = await store.db
            .selectFrom('action_runs')
            .selectAll()
            .where('playbook_run_id', '=', slowId)
            .executeTakeFirst();
          return r && r.status !== 'running' && r.status !== 'pending' ? r : undefined;
        });
        assert.ok(['cancelled', 'failed'].includes(ar.status), ar.status);
      } finally {
        await worker.stop();
        await store.close();
      }
    });
  });
}
