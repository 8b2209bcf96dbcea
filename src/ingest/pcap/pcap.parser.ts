import type { ParseEvent, ParseOptions, Parser } from '../observation.ts';
import { CaptureReader, type CaptureEvent } from './capture.reader.ts';
import { ListenerInference } from './listener.inference.ts';
import { decodePacket, isSupportedLinkType } from './packet.decoder.ts';

/**
 * Parser of packet captures (libpcap and pcapng, as tcpdump, tshark, dumpcap and Wireshark write
 * them): infers listeners from the packets by the rules of {@link ListenerInference} and yields one
 * observation per (host, protocol, port, grade) — two when first and latest sighting differ — after
 * the capture (or whenever the bounded aggregate fills up). One `record` event per packet.
 */
export const parsePcap: Parser = async function* parsePcap(
  input: AsyncIterable<Buffer | string>,
  _opts: ParseOptions,
): AsyncGenerator<ParseEvent> {
  const inference = new ListenerInference();
  const unsupported = new Set<number>();
  const record: ParseEvent = { kind: 'record' };
  const reader = new CaptureReader();
  // The reader's synchronous events are consumed here directly: one async step per packet is enough.
  function* events(chunk: Buffer | string | null): Generator<CaptureEvent> {
    if (chunk === null) yield* reader.finish();
    else {
      reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      yield* reader.drain();
    }
  }
  for await (const chunk of withEnd(input))
    for (const e of events(chunk)) {
      if (e.kind === 'issue') {
        yield e;
        continue;
      }
      const p = e.packet;
      yield record;
      const decoded = decodePacket(p.linkType, p.data);
      if (decoded) inference.add(decoded, p.timeMs, p.offset);
      else if (!isSupportedLinkType(p.linkType) && !unsupported.has(p.linkType)) {
        unsupported.add(p.linkType);
        yield {
          kind: 'issue',
          issue: {
            message: `link type ${p.linkType} is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback are); its packets are skipped`,
            offset: p.offset,
          },
        };
      }
      if (inference.full) for (const o of inference.take()) yield { kind: 'observation', observation: o };
    }
  for (const o of inference.take()) yield { kind: 'observation', observation: o };
};

async function* withEnd(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string | null> {
  yield* input;
  yield null;
}
