export {
  parseStream,
  parseStreamBatches,
  streamEventToEvents,
  STREAM_STRONG_REASON,
  STREAM_WEAK_REASON,
  type StreamEventWhere,
} from './stream-tcp.parser.ts';
export {
  jsonValues,
  JsonSplitter,
  LineSplitter,
  JSON_MAX_RECORD_BYTES,
  type JsonItem,
  type JsonValuesOptions,
  type TextLine,
} from './json-values.ts';
