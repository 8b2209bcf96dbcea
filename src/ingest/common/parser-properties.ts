import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Observation, ParseOptions, Parser } from '../observation.ts';
import { canonicalIp } from './address.ts';
import { collectEvents, listenerKeys, type CollectedEvents } from './collect.ts';

/**
 * The property tests every parser must pass, written once. A parser's test file describes its format
 * (how to render generated records, what they must yield) and calls {@link checkParserProperties}.
 */

/** `host proto/port grade` keys of every observation, sorted and deduplicated. */
export function gradedKeys(observations: Observation[]): string[] {
  return [...new Set(observations.map((o) => `${o.host} ${o.protocol}/${o.port} ${o.grade}`))].sort();
}

/** Asserts that every observation names a canonical IP address and an integer port in `minPort`–65535. */
export function assertCanonicalObservations(observations: Observation[], minPort: 0 | 1 = 1): void {
  for (const o of observations) {
    assert.equal(canonicalIp(o.host), o.host);
    assert.ok(Number.isInteger(o.port) && o.port >= minPort && o.port <= 65535, `port ${o.port}`);
  }
}

/** IPv4 addresses over the whole range, as dotted quads. */
export const arbitraryIpv4: fc.Arbitrary<string> = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map((a) => a.join('.'));

/** IPv6 addresses in eight uncompressed hex groups, as scanners may write them (not canonical). */
export const arbitraryIpv6Groups: fc.Arbitrary<string> = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((p) => p.map((x) => x.toString(16)).join(':'));

/** Chunks of random bytes and text (and `extra` pieces, e.g. JSON), as a file or socket could deliver them. */
export function arbitraryChunks(
  opts: { maxLength?: number; extra?: fc.Arbitrary<string> } = {},
): fc.Arbitrary<Array<string | Buffer>> {
  const maxLength = opts.maxLength ?? 200;
  const pieces: Array<fc.Arbitrary<string | Uint8Array>> = [
    fc.uint8Array({ maxLength }),
    fc.string({ maxLength }),
  ];
  if (opts.extra) pieces.push(opts.extra);
  return fc
    .array(fc.oneof(...pieces))
    .map((cs) => cs.map((c) => (typeof c === 'string' ? c : Buffer.from(c))));
}

/** One chunk of up to `maxLength` random bytes. */
export function arbitraryBlob(maxLength = 2000): fc.Arbitrary<Array<string | Buffer>> {
  return fc.uint8Array({ maxLength }).map((b) => [Buffer.from(b)]);
}

/** An input made from generated records, and what parsing all of it must give. */
export interface GeneratedDocument {
  text: string | Buffer;
  /** The keys (as the spec's `keysOf` makes them) the whole document yields, sorted and deduplicated. */
  keys: string[];
  /** How many issues the whole document yields; not checked when omitted. */
  issues?: number;
  /** Further assertions on the result of the whole document. */
  check?: (r: CollectedEvents) => void;
}

/** What {@link checkParserProperties} needs to know about one format. */
export interface ParserPropertySpec {
  /** Keys compared between documents and results; default {@link listenerKeys} (strong evidence). */
  keysOf?: (observations: Observation[]) => string[];
  /** Lowest port the format can name (nmap and masscan write port 0). Default 1. */
  minPort?: 0 | 1;
  /** Random input for "never throws"; default {@link arbitraryChunks}. */
  arbitraryInput?: fc.Arbitrary<Array<string | Buffer>>;
  /** Parse options for the random input (e.g. a reporting host, so wildcard rows count). */
  arbitraryOptions?: ParseOptions;
  /** Documents of valid records only: they must parse back to exactly their keys (and issues). */
  wellFormed?: fc.Arbitrary<GeneratedDocument>;
  /** Valid records mixed with garbage: every valid record is kept, also when split at any byte. */
  mixed: fc.Arbitrary<GeneratedDocument>;
  /** Documents of valid records to cut at any byte: no key beyond the document's may appear. */
  truncatable: fc.Arbitrary<GeneratedDocument>;
  /** More assertions on a truncated document, e.g. that the cut is reported. */
  onTruncated?: (r: CollectedEvents, cut: number, length: number) => void;
  /** A 10 MB line and binary junk between two copies of the record `good`, after `header`. */
  hostile?: { header?: string; good: string; issueLines: [number, number] };
  /** fast-check runs of each property (default 100 each). */
  runs?: { arbitrary?: number; wellFormed?: number; mixed?: number; truncation?: number };
}

const splitAt = (text: string | Buffer, cut: number): Buffer[] => {
  const buf = Buffer.from(text);
  const at = buf.length ? cut % buf.length : 0;
  return [buf.subarray(0, at), buf.subarray(at)];
};

function checkDocument(r: CollectedEvents, doc: GeneratedDocument, keysOf: ParserPropertySpec['keysOf']) {
  assert.deepEqual((keysOf ?? listenerKeys)(r.observations), doc.keys);
  if (doc.issues !== undefined) assert.equal(r.issues.length, doc.issues, JSON.stringify(r.issues));
  doc.check?.(r);
}

/** Registers `<name> properties`: the property tests every parser passes, over `parser`'s format. */
export function checkParserProperties(name: string, parser: Parser, spec: ParserPropertySpec): void {
  const keysOf = spec.keysOf ?? listenerKeys;
  const runs = spec.runs ?? {};
  describe(`${name} properties`, () => {
    it('arbitrary bytes never throw; every observation has a canonical IP and a valid port', async () => {
      await fc.assert(
        fc.asyncProperty(spec.arbitraryInput ?? arbitraryChunks(), async (chunks) => {
          const r = await collectEvents(parser, chunks, spec.arbitraryOptions);
          assertCanonicalObservations(r.observations, spec.minPort);
        }),
        { numRuns: runs.arbitrary ?? 100 },
      );
    });

    if (spec.wellFormed) {
      const wellFormed = spec.wellFormed;
      it('generated records round-trip, split at any byte', async () => {
        await fc.assert(
          fc.asyncProperty(wellFormed, fc.nat(), async (doc, cut) => {
            checkDocument(await collectEvents(parser, splitAt(doc.text, cut)), doc, keysOf);
          }),
          { numRuns: runs.wellFormed ?? 100 },
        );
      });
    }

    it('valid records mixed with garbage are all kept, split at any byte', async () => {
      await fc.assert(
        fc.asyncProperty(spec.mixed, fc.nat(), async (doc, cut) => {
          checkDocument(await collectEvents(parser, splitAt(doc.text, cut)), doc, keysOf);
        }),
        { numRuns: runs.mixed ?? 100 },
      );
    });

    it('truncation at any byte never throws and never invents a port', async () => {
      await fc.assert(
        fc.asyncProperty(spec.truncatable, fc.nat(), async (doc, n) => {
          const buf = Buffer.from(doc.text);
          const cut = n % (buf.length + 1);
          const r = await collectEvents(parser, [buf.subarray(0, cut)]);
          const all = new Set(doc.keys);
          for (const k of keysOf(r.observations)) assert.ok(all.has(k), `invented ${k}`);
          spec.onTruncated?.(r, cut, buf.length);
        }),
        { numRuns: runs.truncation ?? 100 },
      );
    });

    if (spec.hostile) {
      const { header, good, issueLines } = spec.hostile;
      it('a 10 MB line and binary junk are reported by line; the records around them are kept', async () => {
        const big = Buffer.alloc(10 * 1024 * 1024, '{');
        const r = await collectEvents(parser, [
          header ?? '',
          good + '\n',
          big.subarray(0, 4_000_000),
          big.subarray(4_000_000),
          '\n',
          Buffer.from([0, 0xff, 0xc3, 0x28, 0x0a]),
          good + '\n',
        ]);
        assert.equal(r.observations.length, 2);
        assert.deepEqual(
          r.issues.map((i) => i.line),
          issueLines,
        );
        assert.match(r.issues[0]!.message, /long/);
        assert.match(r.issues[1]!.message, /binary/);
      });
    }
  });
}
