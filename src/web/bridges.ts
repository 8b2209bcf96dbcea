import { automationEvents } from '../automation/events.ts';
import { publishEvent } from './event-bus.ts';

let installed = false;

/**
 * Forwards automation's in-process events (container created, artifact added, container updated) to
 * the browsers' live stream. Installed once per process: the bus is process-wide.
 */
export function bridgeAutomationEvents(): void {
  if (installed) return;
  installed = true;
  automationEvents.on('container_created', (e) => {
    publishEvent('container_created', {
      container_id: e.containerId,
      label: e.label,
      artifacts: e.artifactIds.length,
    });
  });
  automationEvents.on('artifact_added', (e) => {
    publishEvent('artifact_added', {
      container_id: e.containerId,
      artifact_id: e.artifactId,
      label: e.label,
    });
  });
  automationEvents.on('container_updated', (e) => {
    publishEvent('container_updated', { container_id: e.containerId, fields: e.changes.map((c) => c.field) });
  });
}
