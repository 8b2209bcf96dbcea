import type { NewContainer } from '../automation/index.ts';
import type { MergeEvent, ServiceKey, ServiceRecord } from './service.merge.ts';

/** The label of every container the baseline raises. */
export const DETECTION_LABEL = 'network_exposure';

/** `198.18.0.2:9090/tcp`, `[fd00::2]:22/tcp`. */
export function serviceEndpoint(k: ServiceKey): string {
  return `${k.host.includes(':') ? `[${k.host}]` : k.host}:${k.port}/${k.protocol}`;
}

/**
 * The source_data_identifier of a detection: `svc:<host>:<proto>:<port>` for a first sighting (so it
 * is raised once, ever), with `:reopened:<time>` appended for a reopened listener (a new one each time).
 */
export function detectionIdentifier(k: ServiceKey, kind: 'new' | 'reopened', at: Date): string {
  const base = `svc:${k.host}:${k.protocol}:${k.port}`;
  return kind === 'new' ? base : `${base}:reopened:${at.toISOString()}`;
}

/**
 * The container (Splunk SOAR shape) for a detection: label `network_exposure`, one `listener`
 * artifact with CEF destinationAddress / destinationPort / transportProtocol and the evidence.
 */
export function detectionContainer(
  row: ServiceRecord,
  ev: MergeEvent & { alert: 'new' | 'reopened' },
): NewContainer {
  const endpoint = serviceEndpoint(row);
  const source = typeof ev.detail.source === 'string' ? ev.detail.source : row.last_source;
  const reason = typeof ev.detail.reason === 'string' ? ev.detail.reason : row.reason;
  const service = row.service;
  const cef: Record<string, unknown> = {
    destinationAddress: row.host,
    destinationPort: row.port,
    transportProtocol: row.protocol.toUpperCase(),
    evidenceSource: source,
    evidenceReason: reason,
  };
  if (service.name) cef.destinationServiceName = service.name;
  if (service.product) cef.deviceProduct = service.product;
  if (service.version) cef.deviceVersion = service.version;
  if (row.hostnames[0]) cef.destinationHostName = row.hostnames[0];
  const data = {
    kind: ev.alert,
    source,
    reason,
    evidence: row.evidence,
    service,
    hostnames: row.hostnames,
    first_seen: row.first_seen.toISOString(),
    seen_at: ev.at.toISOString(),
  };
  return {
    name: ev.alert === 'new' ? `New listening port ${endpoint}` : `Reopened listening port ${endpoint}`,
    label: DETECTION_LABEL,
    severity: 'medium',
    status: 'new',
    description:
      ev.alert === 'new'
        ? `First sighting of a listener on ${endpoint} (${source}: ${reason}).`
        : `A listener on ${endpoint} that had gone is listening again (${source}: ${reason}).`,
    source_data_identifier: detectionIdentifier(row, ev.alert, ev.at),
    start_time: ev.at,
    tags: [ev.alert === 'new' ? 'new_listener' : 'reopened_listener'],
    data,
    artifacts: [
      {
        name: 'listener',
        label: 'service',
        type: 'network',
        severity: 'medium',
        source_data_identifier: detectionIdentifier(row, ev.alert, ev.at),
        cef,
        cef_types: { destinationAddress: ['ip'], destinationPort: ['port'] },
        data,
        start_time: ev.at,
      },
    ],
  };
}
