export type {
  ContainerTables,
  ContainerTable,
  ArtifactTable,
  SeverityTable,
  ContainerStatusTable,
} from './container.table.ts';
export type { NoteTables, NoteTable } from './note.table.ts';
export type { DecidedListTables, DecidedListTable, ListCell } from './decided-list.table.ts';
export {
  createContainer,
  addArtifact,
  getContainer,
  listContainers,
  updateContainer,
  deleteContainer,
  requireContainer,
  checkSeverity,
  statusType,
  resolveOwner,
  SENSITIVITIES,
  CONTAINER_LIST,
  type NewContainer,
  type NewArtifact,
  type CreateContainerResult,
  type ArtifactResult,
  type ContainerRecord,
  type ContainerPatch,
  type ChangeOptions,
  type FieldChange,
} from './container.repository.ts';
export {
  addArtifacts,
  getArtifact,
  listArtifacts,
  updateArtifact,
  deleteArtifact,
  ARTIFACT_LIST,
  type NewContainerArtifact,
  type ArtifactRecord,
  type ArtifactPatch,
} from './artifact.repository.ts';
export {
  createNote,
  getNote,
  listNotes,
  updateNote,
  deleteNote,
  NOTE_LIST,
  type NewNote,
  type NoteRecord,
  type NoteAuthor,
} from './note.repository.ts';
export {
  getDecidedList,
  putDecidedList,
  changeDecidedListRows,
  deleteDecidedList,
  listDecidedLists,
  applyRowChanges,
  type DecidedListRecord,
  type ListRowChanges,
} from './decided-list.repository.ts';
export {
  automationEvents,
  emitAutomationEvent,
  type AutomationEventMap,
  type ContainerCreatedEvent,
  type ArtifactAddedEvent,
  type ContainerUpdatedEvent,
} from './events.ts';
export {
  parseListQuery,
  parseFilter,
  parseFilterValue,
  filterCondition,
  whereAll,
  orderBy,
  runList,
  numPages,
  DEFAULT_PAGE_SIZE,
  LOOKUPS,
  type ListSpec,
  type ListField,
  type FieldKind,
  type ListQuery,
  type ListEnvelope,
  type Filter,
  type FilterValue,
  type Lookup,
} from './rest-list.ts';
export { recordAudit, type AuditEntry } from '../audit/index.ts';
export { registerSoarObjectRoutes } from './rest/index.ts';
export { registerAutomationRoutes } from './playbook.routes.ts';
export {
  startAutomation,
  automationRuntime,
  type AutomationRuntime,
  type AutomationHost,
} from './run.service.ts';
export {
  startPlaybookRun,
  triggerPlaybooksForLabel,
  queueActionRun,
  syncPlaybooks,
  type PlaybookDeps,
} from './playbook.engine.ts';
export { PlaybookRegistry, type PlaybookDefinition } from './playbook.types.ts';
export { AppRegistry } from './app.registry.ts';
export { parseAppManifest, appManifestSchema, type AppManifest } from './app.manifest.ts';
export type { ActionContext, ActionOutcome, AppDefinition } from './app.types.ts';
export type { PlaybookSdk, ActResult, PromptAnswer, PromptOptions } from './sdk.ts';
export { startAutomationWorker, type AutomationWorker, type WorkerOptions } from './worker.ts';
