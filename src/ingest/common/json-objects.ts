/** One top-level `{…}` object cut out of a stream of concatenated / listed JSON objects. */
export type JsonObjectPiece =
  | { kind: 'object'; text: string; line: number; offset: number }
  | { kind: 'problem'; message: string; line: number; offset: number };

export interface JsonObjectsOptions {
  /** Largest object kept in memory, in bytes; bigger ones are skipped with a problem. Default 4 MiB. */
  maxObjectBytes?: number;
}

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NL = 0x0a;

function isFiller(b: number): boolean {
  // Whitespace and the list punctuation around objects: `[`, `]`, `,` (masscan puts commas before or after).
  return b === 0x20 || b === 0x09 || b === 0x0d || b === NL || b === 0x5b || b === 0x5d || b === 0x2c;
}

/**
 * Splits a byte stream into its top-level JSON objects in constant memory, whatever surrounds them:
 * a JSON array (with or without a trailing comma before `]`), one object per line, objects with leading
 * or trailing commas, or objects simply concatenated. Nested objects and strings are followed so braces
 * inside them do not count. Text outside objects and broken objects are reported as problems with
 * their line and byte offset; after a broken object, reading resumes at the next line that starts
 * with `{`. The object text is yielded unparsed.
 */
export async function* jsonObjects(
  input: AsyncIterable<Buffer | string>,
  opts: JsonObjectsOptions = {},
): AsyncGenerator<JsonObjectPiece> {
  const maxBytes = opts.maxObjectBytes ?? 4 * 1024 * 1024;
  let depth = 0;
  let inString = false;
  let escape = false;
  let parts: Buffer[] = [];
  let partLen = 0;
  let tooBig = false;
  let objLine = 0;
  let objOffset = 0;
  let broken = false;
  let line = 1;
  let atLineStart = true;
  let pos = 0;
  // A run of stray text between objects, reported once per line.
  let junkLine = 0;
  let junkOffset = -1;
  let junk = '';

  const flushJunk = (): JsonObjectPiece | null => {
    if (junkOffset < 0) return null;
    const piece: JsonObjectPiece = {
      kind: 'problem',
      message: `line ${junkLine} (byte offset ${junkOffset}): text outside any JSON object: ${JSON.stringify(junk.length > 40 ? `${junk.slice(0, 40)}…` : junk)}`,
      line: junkLine,
      offset: junkOffset,
    };
    junkOffset = -1;
    junk = '';
    return piece;
  };
  const abandon = (why: string): JsonObjectPiece => {
    const piece: JsonObjectPiece = {
      kind: 'problem',
      message: `line ${objLine} (byte offset ${objOffset}): ${why}`,
      line: objLine,
      offset: objOffset,
    };
    depth = 0;
    inString = false;
    escape = false;
    parts = [];
    partLen = 0;
    tooBig = false;
    return piece;
  };

  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    // An object that began in an earlier chunk continues at this chunk's first byte.
    let segStart = depth > 0 && !broken ? 0 : -1;
    const keep = (end: number) => {
      if (segStart < 0) return;
      const len = end - segStart;
      if (!tooBig && partLen + len <= maxBytes) {
        parts.push(buf.subarray(segStart, end));
        partLen += len;
      } else {
        tooBig = true;
      }
    };
    for (let i = 0; i < buf.length; i++, pos++) {
      const b = buf[i]!;
      const lineStart = atLineStart;
      atLineStart = b === NL;
      if (broken) {
        if (lineStart && b === LBRACE) broken = false;
        else {
          if (b === NL) line++;
          continue;
        }
      }
      if (depth === 0) {
        if (b === LBRACE) {
          const j = flushJunk();
          if (j) yield j;
          depth = 1;
          objLine = line;
          objOffset = pos;
          segStart = i;
          continue;
        }
        if (b === NL) {
          const j = flushJunk();
          if (j) yield j;
          line++;
          continue;
        }
        if (isFiller(b) && junkOffset < 0) continue;
        if (junkOffset < 0) {
          junkLine = line;
          junkOffset = pos;
        }
        if (junk.length < 41) junk += String.fromCharCode(b >= 0x20 && b < 0x7f ? b : 0x3f);
        continue;
      }
      // Inside an object.
      if (b === NL) {
        line++;
        if (inString) {
          // JSON strings never hold a raw newline: the object is damaged. Skip to the next object line.
          keep(i);
          segStart = -1;
          yield abandon('broken JSON object (string not closed before the end of the line); skipped');
          broken = true;
          continue;
        }
      }
      if (inString) {
        if (escape) escape = false;
        else if (b === BACKSLASH) escape = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (lineStart && b === LBRACE && objLine < line) {
        // A line starting with `{` while an earlier object is still open: that object was cut short.
        keep(i);
        segStart = i;
        yield abandon(`incomplete JSON object (line ${line} starts a new object before it ended); skipped`);
        depth = 1;
        objLine = line;
        objOffset = pos;
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === LBRACE || b === 0x5b) depth++;
      else if (b === RBRACE || b === 0x5d) {
        depth--;
        if (depth === 0) {
          keep(i + 1);
          segStart = -1;
          if (tooBig) {
            yield abandon(`JSON object longer than ${maxBytes} bytes; skipped`);
          } else {
            const text = Buffer.concat(parts, partLen).toString('utf8');
            const piece: JsonObjectPiece = { kind: 'object', text, line: objLine, offset: objOffset };
            parts = [];
            partLen = 0;
            yield piece;
          }
        }
      }
    }
    keep(buf.length);
  }
  const j = flushJunk();
  if (j) yield j;
  if (depth > 0 && !broken) {
    yield abandon(`truncated input: unexpected end inside a JSON object (at byte offset ${pos})`);
  }
}
