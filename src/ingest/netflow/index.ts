export { parseNetflow, parseNetflowBatches } from './netflow.parser.ts';
export { DatagramFramer, plausibleFrame, looksLikeDatagramFile, MAX_DATAGRAM } from './datagram-file.ts';
export {
  NetflowDecoder,
  type FlowRecord,
  type DatagramSource,
  type DecodeSink,
  type DecoderLimits,
} from './netflow.decoder.ts';
export {
  ListenerInference,
  judgeConnection,
  observationOf,
  portRangeGuess,
  type Verdict,
  type InferenceLimits,
} from './listener.inference.ts';
export {
  startFlowCollector,
  startConfiguredFlowCollector,
  parseExporterList,
  type CollectorOptions,
  type CollectorStats,
  type CollectorContext,
  type RunningCollector,
} from './collector.ts';
