export { parsePcap } from './pcap.parser.ts';
export { captureKind, readCapture, type CapturedPacket, type CaptureEvent } from './capture.reader.ts';
export { decodePacket, type DecodedPacket } from './packet.decoder.ts';
export { PCAP_RULES } from './listener.inference.ts';
