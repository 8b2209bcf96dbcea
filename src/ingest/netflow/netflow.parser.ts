import type { ParseEvent, ParseOptions } from '../observation.ts';
import { DatagramFramer } from './datagram-file.ts';
import { ListenerInference } from './listener.inference.ts';
import { NetflowDecoder, type DecodeSink } from './netflow.decoder.ts';

/**
 * Reads a file of stored NetFlow v5 / v9 / IPFIX datagrams (each a 4-byte big-endian length, then
 * the datagram) and yields, per input chunk, one array of events: a `record` per decoded flow, the
 * listener observations {@link ListenerInference} draws from the flows, and located issues. Constant
 * memory: one datagram, the template cache and the inference's bounded windows.
 */
export async function* parseNetflowBatches(
  input: AsyncIterable<Buffer | string>,
  _opts: ParseOptions = {},
): AsyncGenerator<ParseEvent[]> {
  const framer = new DatagramFramer();
  const decoder = new NetflowDecoder();
  const inference = new ListenerInference();
  let events: ParseEvent[] = [];
  const emit = (observation: ParseEvent & { kind: 'observation' }) => events.push(observation);
  const sink: DecodeSink = {
    flow: (f) => {
      events.push({ kind: 'record' });
      inference.push(f, (observation) => emit({ kind: 'observation', observation }));
    },
    issue: (issue) => events.push({ kind: 'issue', issue }),
  };
  // Offsets name the datagram itself, after its 4-byte length prefix.
  const datagram = (d: Buffer, offset: number) =>
    decoder.decode(d, { exporter: '', offset: offset + 4 }, sink);
  for await (const chunk of input) {
    framer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk, datagram, sink.issue);
    if (events.length) {
      yield events;
      events = [];
    }
  }
  framer.end(datagram, sink.issue);
  decoder.finish(sink);
  inference.finish((observation) => emit({ kind: 'observation', observation }));
  if (events.length) yield events;
}

/** {@link parseNetflowBatches} one event at a time: the `Parser` contract. */
export async function* parseNetflow(
  input: AsyncIterable<Buffer | string>,
  opts: ParseOptions = {},
): AsyncGenerator<ParseEvent> {
  for await (const batch of parseNetflowBatches(input, opts)) yield* batch;
}
