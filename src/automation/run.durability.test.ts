import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/index.ts';
import { syncPlaybooks } from './playbook.engine.ts';
import { eventually, testDeps } from './run.testing.ts';
import { durablePlaybook } from './testdata/durable.playbook.ts';
import { startAutomationWorker } from './worker.ts';

const CHILD = fileURLToPath(new URL('./testdata/durability.child.ts', import.meta.url));

describe('durable playbook runs', () => {
  it(
    'resumes 100 runs killed in the middle of an action, without redoing completed steps',
    { timeout: 240_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pc-durable-'));
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise<void>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
            if (out.includes('READY')) resolve();
          });
          child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
        });
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));

        const store = await openStore({ dataDir: dir });
        const deps = testDeps(store, [durablePlaybook(0)]);
        try {
          const before = await store.db.selectFrom('playbook_runs').select('status').execute();
          assert.equal(before.length, 100);
          assert.ok(
            before.every((r) => r.status === 'running'),
            'the kill left them running',
          );
          await syncPlaybooks(store.db, deps.playbooks);
          const worker = startAutomationWorker(deps, { resetLocks: true, pollMs: 20, concurrency: 100 });
          try {
            const runs = await eventually(
              async () => {
                const rs = await store.db
                  .selectFrom('playbook_runs')
                  .select(['id', 'status', 'message', 'attempts'])
                  .execute();
                return rs.every((r) => !['pending', 'running', 'waiting'].includes(r.status))
                  ? rs
                  : undefined;
              },
              180_000,
              'every run to end',
            );
            for (const r of runs) {
              assert.equal(r.status, 'success', `run ${r.id}: ${r.message}`);
              assert.equal(r.message, 'all three steps done');
              assert.equal(r.attempts, 2);
            }
            const count = async (name: string, status: string) =>
              Number(
                (
                  await store.db
                    .selectFrom('action_runs')
                    .select((eb) => eb.fn.countAll<number>().as('n'))
                    .where('name', '=', name)
                    .where('status', '=', status as 'success')
                    .executeTakeFirstOrThrow()
                ).n,
              );
            assert.equal(await count('step_one', 'success'), 100, 'step one ran once per run');
            assert.equal(
              await count('step_two', 'failed'),
              100,
              'the interrupted step two is recorded as such',
            );
            assert.equal(await count('step_two', 'success'), 100);
            assert.equal(await count('step_three', 'success'), 100);
            const interrupted = await store.db
              .selectFrom('action_runs')
              .select('message')
              .where('name', '=', 'step_two')
              .where('status', '=', 'failed')
              .executeTakeFirstOrThrow();
            assert.match(interrupted.message, /interrupted by a restart/);
            assert.equal((await store.db.selectFrom('automation_jobs').selectAll().execute()).length, 0);
          } finally {
            await worker.stop();
          }
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
