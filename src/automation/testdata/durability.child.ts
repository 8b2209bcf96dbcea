// Starts 100 runs of the durable playbook on the store in argv[2] and prints READY once every run is
// inside its slow second step; the test then kills this process.
import { openStore } from '../../store/index.ts';
import { createContainer } from '../container.repository.ts';
import { startPlaybookRun, syncPlaybooks } from '../playbook.engine.ts';
import { testDeps } from '../run.testing.ts';
import { startAutomationWorker } from '../worker.ts';
import { durablePlaybook } from './durable.playbook.ts';

const store = await openStore({ dataDir: process.argv[2]! });
const deps = testDeps(store, [durablePlaybook(600_000)], { actionTimeoutMs: 900_000 });
await syncPlaybooks(store.db, deps.playbooks);
const c = await createContainer(store.db, { name: 'durability' });
if (!c.created) throw new Error('no container');
for (let i = 0; i < 100; i++) await startPlaybookRun(store.db, deps, { playbook: 'durable', containerId: c.id, trigger: 'test' });
startAutomationWorker(deps, { concurrency: 200, pollMs: 20 });
for (;;) {
  const r = await store.db.selectFrom('action_runs').select((eb) => eb.fn.countAll<number>().as('n')).where('name', '=', 'step_two').where('status', '=', 'running').executeTakeFirstOrThrow();
  if (Number(r.n) === 100) break;
  await new Promise((res) => setTimeout(res, 50));
}
process.stdout.write('READY\n');
await new Promise(() => {});
