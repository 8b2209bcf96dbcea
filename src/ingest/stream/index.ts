export {
  parseStream,
  parseStreamBatches,
  streamEventToEvents,
  STREAM_STRONG_REASON,
  STREAM_WEAK_REASON,
  StreamTextReader,
  type StreamEventWhere,
} from './stream-tcp.parser.ts';
export {
  parseStreamBatchesParallel,
  parseStreamPartsParallel,
  type StreamPartGroups,
  holdStreamParseWorkers,
  type ParallelStreamOptions,
} from './stream-parse.pool.ts';
export {
  jsonValues,
  JsonSplitter,
  LineSplitter,
  JSON_MAX_RECORD_BYTES,
  type JsonItem,
  type JsonValuesOptions,
  type TextLine,
} from './json-values.ts';
