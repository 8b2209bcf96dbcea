import { EventEmitter } from 'node:events';

/** Emitted once a new container has been committed (not for a duplicate source_data_identifier). */
export interface ContainerCreatedEvent {
  containerId: number;
  label: string;
  /** The container's `run_automation` flag (Splunk SOAR runs active playbooks for the label). */
  runAutomation: boolean;
  /** Artifacts created inline with the container (they get no separate `artifact_added`). */
  artifactIds: number[];
  /**
   * The playbook runs queued together with the container, when the automation runtime plans them
   * (see `setContainerTriggerPlanner`); absent when nothing planned them.
   */
  playbookRunIds?: number[];
}

/** Emitted once an artifact added to an existing container has been committed. */
export interface ArtifactAddedEvent {
  containerId: number;
  artifactId: number;
  label: string;
  /** `run_automation: true` on the artifact: the container's playbooks should run. */
  runAutomation: boolean;
}

/** Emitted after a committed change of container fields (status, severity, owner, label…). */
export interface ContainerUpdatedEvent {
  containerId: number;
  changes: Array<{ field: string; old: unknown; new: unknown }>;
}

/** Every automation event and its payload. */
export interface AutomationEventMap {
  container_created: [ContainerCreatedEvent];
  artifact_added: [ArtifactAddedEvent];
  container_updated: [ContainerUpdatedEvent];
}

/**
 * In-process notifications for automation (playbook triggers): emitted after the change commits, so
 * a listener always finds the rows. Listeners run synchronously in the request: they should only
 * queue work. A listener that throws is reported as a process warning and never undoes the change.
 */
export const automationEvents = new EventEmitter<AutomationEventMap>();
automationEvents.setMaxListeners(50);

/** Emits an event; a listener that throws does not break the request that caused the event. */
export function emitAutomationEvent<K extends keyof AutomationEventMap>(
  name: K,
  ...args: AutomationEventMap[K]
): void {
  try {
    (automationEvents.emit as (n: K, ...a: AutomationEventMap[K]) => boolean)(name, ...args);
  } catch (e) {
    process.emitWarning(`automation event ${name}: listener failed: ${(e as Error).message}`);
  }
}
