export type {
  Observation,
  ParseEvent,
  ParseIssue,
  Parser,
  ParseOptions,
  FormatName,
  EvidenceGrade,
  Protocol,
  SourceKind,
  ServiceDetail,
} from './observation.ts';
export { PARSERS, FORMAT_NAMES, detectFormat, DETECT_HEAD_BYTES } from './formats.ts';
export { readLines, fromChunks, type InputLine } from './common/lines.ts';
export { canonicalIp, parsePort } from './common/address.ts';
export { collectEvents, listenerKeys, type CollectedEvents } from './common/collect.ts';
export { parseNmapXml, parseNmapGrep } from './nmap/index.ts';
export { parseMasscanJson, parseMasscanList } from './masscan/index.ts';
export { jsonObjects, type JsonObjectPiece } from './common/json-objects.ts';
export { parseNetcat } from './netcat/index.ts';
export {
  parseStream,
  parseStreamBatches,
  streamEventToEvents,
  jsonValues,
  type StreamEventWhere,
  type JsonItem,
} from './stream/index.ts';
export { parseZeekConn, zeekEvidence } from './zeek/index.ts';
export { parseOsquery } from './osquery/index.ts';
export { parseSs } from './ss/index.ts';
export { parseNetflow, startConfiguredFlowCollector, startFlowCollector } from './netflow/index.ts';
export {
  ingestStream,
  IngestSink,
  isFormatName,
  type IngestSummary,
  type IngestIssue,
  type IngestOptions,
} from './ingest.service.ts';
export { ingestHecEvents, formatOfSourcetype, HEC, type HecResult } from './hec.ingest.ts';
export { registerImportRoutes } from './imports.routes.ts';
export { registerHecRoutes } from './hec.routes.ts';
export { listImports, type ImportView } from './import.repository.ts';
