export type {
  BaselineTables,
  ServiceTable,
  ServiceChangeTable,
  ImportTable,
  SourceStats,
} from './service.table.ts';
export {
  mergeObservation,
  applyObservation,
  serviceKeyString,
  SERVICE_STATES,
  type ServiceRecord,
  type ServiceKey,
  type ServiceState,
  type ServiceEvidence,
  type ServiceChangeKind,
  type MergeEvent,
  type MergeOptions,
  type MergeResult,
} from './service.merge.ts';
export { detectionContainer, detectionIdentifier, serviceEndpoint, DETECTION_LABEL } from './detection.ts';
export {
  listServices,
  listChanges,
  getService,
  setServiceState,
  approveService,
  countServices,
  baselineIsEmpty,
  toView,
  type ServiceView,
  type ServiceChangeView,
  type ServiceQuery,
  type ServiceDecision,
} from './service.repository.ts';
export { parseHostFilter, parseSince, type HostFilter } from './service.query.ts';
export {
  BaselineWriter,
  recordObservations,
  observationProblem,
  type BaselineContext,
  type RecordSummary,
  type WriterOptions,
} from './baseline.service.ts';
export { runBaselineSweep, startBaselineSweep } from './sweep.ts';
export { registerServiceRoutes } from './services.routes.ts';
export { registerServiceCommands } from './cli/services.commands.ts';
