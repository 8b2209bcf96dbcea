export {
  parseZeekConn,
  parseZeekKnownServices,
  zeekEvidence,
  type ZeekConnFields,
  type ZeekEvidence,
} from './zeek-conn.parser.ts';
