export {
  parseStream,
  streamEventToEvents,
  STREAM_STRONG_REASON,
  STREAM_WEAK_REASON,
  type StreamEventWhere,
} from './stream-tcp.parser.ts';
export { jsonValues, JSON_MAX_RECORD_BYTES, type JsonItem, type JsonValuesOptions } from './json-values.ts';
