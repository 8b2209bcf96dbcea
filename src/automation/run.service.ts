import type { Kysely } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/index.ts';
import { parseDuration } from '../config/index.ts';
import type { Database, Store } from '../store/index.ts';
import { addVaultFile } from '../vault/index.ts';
import { BUILTIN_APPS } from '../apps/index.ts';
import { BUILTIN_PLAYBOOKS } from '../playbooks/index.ts';
import { AppRegistry } from './app.registry.ts';
import type { VaultPort } from './action.engine.ts';
import { loadSecretKey } from '../util/secret-box.ts';
import { automationEvents, type ArtifactAddedEvent, type ContainerCreatedEvent } from './events.ts';
import { setContainerTriggerPlanner } from './container.repository.ts';
import {
  planContainerTriggers,
  syncPlaybooks,
  triggerPlaybooksForLabel,
  type PlaybookDeps,
} from './playbook.engine.ts';
import { PlaybookRegistry } from './playbook.types.ts';
import type { ServicePort } from './sdk.ts';
import { startAutomationWorker, type AutomationWorker, type WorkerOptions } from './worker.ts';

/** What the automation runtime needs from the application context. */
export interface AutomationHost {
  readonly config: Config;
  readonly store: Store;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  onShutdown(fn: () => Promise<void> | void): void;
}

/** Apps, playbooks and the engine's dependencies of one server; the worker once started. */
export interface AutomationRuntime {
  readonly apps: AppRegistry;
  readonly playbooks: PlaybookRegistry;
  readonly deps: PlaybookDeps;
  worker: AutomationWorker | undefined;
  /** Resolves once playbook rows match the registered code. */
  readonly ready: Promise<void>;
  /** Wakes the worker after work was queued in this process. */
  wake(): void;
}

const runtimes = new WeakMap<object, AutomationRuntime>();

/** The default result size above which action results go to the vault. */
export const RESULT_VAULT_THRESHOLD = 256 * 1024;

/**
 * The automation runtime of a context, created on first use with the built-in apps and playbooks.
 * Routes use it to validate and queue work; `startAutomation` adds the worker.
 */
export function automationRuntime(host: AutomationHost): AutomationRuntime {
  const existing = runtimes.get(host);
  if (existing) return existing;
  const apps = new AppRegistry();
  for (const a of BUILTIN_APPS) apps.register(a);
  const playbooks = new PlaybookRegistry();
  for (const p of BUILTIN_PLAYBOOKS) playbooks.register(p);
  const vault: VaultPort = {
    put: async (containerId, fileName, content) =>
      (await addVaultFile(host.db, host, { containerId, data: content, fileName, actor: 'automation' }))
        .vault_id,
  };
  const services: ServicePort = {
    async setState(key, decision) {
      const { setServiceState } = await import('../baseline/index.ts');
      return (await setServiceState(host.db, key, decision)) !== undefined;
    },
  };
  const deps: PlaybookDeps = {
    db: host.db,
    apps,
    playbooks,
    secretKey: loadSecretKey(host.config.dataDir, host.config.secretKey),
    logger: host.logger.child({ component: 'automation' }),
    vault,
    services,
    actionTimeoutMs: parseDuration(host.config.actionTimeout),
    runTimeLimitMs: parseDuration(host.config.playbookTimeLimit),
    resultVaultThreshold: RESULT_VAULT_THRESHOLD,
  };
  let synced: Promise<void> | undefined;
  const r: AutomationRuntime = {
    apps,
    playbooks,
    deps,
    worker: undefined,
    get ready() {
      synced ??= syncPlaybooks(host.db, playbooks).then(() => undefined);
      return synced;
    },
    wake() {
      r.worker?.wake();
    },
  };
  runtimes.set(host, r);
  return r;
}

/**
 * Starts automation for a server: registers the playbooks, starts the job worker and triggers
 * playbooks on new containers and artifacts. Stops with the server (`onShutdown`).
 */
export async function startAutomation(
  host: AutomationHost,
  opts: WorkerOptions = {},
): Promise<AutomationRuntime> {
  const rt = automationRuntime(host);
  await rt.ready;
  rt.worker = startAutomationWorker(rt.deps, {
    concurrency: host.config.automationConcurrency,
    resetLocks: host.store.kind === 'embedded',
    ...(host.store.kind === 'embedded' ? { vacuumEveryMs: 5000 } : {}),
    ...opts,
  });
  const uninstall = installPlaybookTriggers(host.db, rt.deps, () => rt.wake());
  host.onShutdown(async () => {
    uninstall();
    await rt.worker?.stop();
  });
  return rt;
}

/**
 * Starts playbooks for new containers and artifacts: a new container's runs are queued in the same
 * statement as the container (see `setContainerTriggerPlanner`); an artifact with `run_automation`
 * queues the container's playbooks after its commit. `wake` is called once runs are queued.
 * Returns a function that removes the triggers.
 */
export function installPlaybookTriggers(
  db: Kysely<Database>,
  deps: PlaybookDeps,
  wake: () => void,
): () => void {
  const trigger = (containerId: number, label: string, why: string) => {
    void triggerPlaybooksForLabel(db, deps, containerId, label, why)
      .then((ids) => {
        if (ids.length) wake();
      })
      .catch((e) => deps.logger.error({ err: e, containerId }, 'could not start playbooks'));
  };
  const onContainer = (e: ContainerCreatedEvent) => {
    if (!e.runAutomation) return;
    if (e.playbookRunIds) {
      if (e.playbookRunIds.length) wake();
    } else trigger(e.containerId, e.label, 'container_created');
  };
  const onArtifact = (e: ArtifactAddedEvent) => {
    if (!e.runAutomation) return;
    void db
      .selectFrom('containers')
      .select('label')
      .where('id', '=', e.containerId)
      .executeTakeFirst()
      .then((c) => c && trigger(e.containerId, c.label, 'artifact_added'))
      .catch((err) => deps.logger.error({ err, containerId: e.containerId }, 'could not start playbooks'));
  };
  setContainerTriggerPlanner(db, planContainerTriggers(db, deps));
  automationEvents.on('container_created', onContainer);
  automationEvents.on('artifact_added', onArtifact);
  return () => {
    setContainerTriggerPlanner(db, undefined);
    automationEvents.off('container_created', onContainer);
    automationEvents.off('artifact_added', onArtifact);
  };
}
