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
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NL = 0x0a;

function isFiller(b: number): boolean {
  // Whitespace and the list punctuation around objects: `[`, `]`, `,` (masscan puts commas before or after).
  return b === 0x20 || b === 0x09 || b === 0x0d || b === NL || b === LBRACKET || b === RBRACKET || b === 0x2c;
}

/**
 * Splits a byte stream into its top-level JSON objects in constant memory, whatever surrounds them:
 * a JSON array (with or without a trailing comma before `]`), one object per line, objects with leading
 * or trailing commas, or objects simply concatenated. Nested objects and strings are followed so braces
 * inside them do not count. Text outside objects and broken objects are reported as problems with
 * their line and byte offset; after a broken object, reading resumes at the next line that starts
 * with `{`. Synchronous: feed chunks with `push`, then call `end`; each returns the pieces completed.
 */
export class JsonObjectSplitter {
  private readonly maxBytes: number;
  private depth = 0;
  private inString = false;
  private escape = false;
  private parts: Buffer[] = [];
  private partLen = 0;
  private tooBig = false;
  private objLine = 0;
  private objOffset = 0;
  private broken = false;
  private line = 1;
  private prevWasNewline = true;
  private base = 0;
  // A run of stray text between objects, reported once per line.
  private junkLine = 0;
  private junkOffset = -1;
  private junk = '';

  constructor(opts: JsonObjectsOptions = {}) {
    this.maxBytes = opts.maxObjectBytes ?? 4 * 1024 * 1024;
  }

  /** Reads one chunk; returns the objects and problems it completed, in input order. */
  push(chunk: Buffer | string): JsonObjectPiece[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: JsonObjectPiece[] = [];
    const n = buf.length;
    // An object that began in an earlier chunk continues at this chunk's first byte.
    let segStart = this.depth > 0 && !this.broken ? 0 : -1;
    let i = 0;
    while (i < n) {
      const b = buf[i]!;
      if (this.broken) {
        const lineStart = i === 0 ? this.prevWasNewline : buf[i - 1] === NL;
        if (lineStart && b === LBRACE) {
          this.broken = false;
          continue; // read this `{` again as the start of an object
        }
        if (b === NL) this.line++;
        i++;
        continue;
      }
      if (this.depth === 0) {
        if (b === LBRACE) {
          this.flushJunk(out);
          this.depth = 1;
          this.objLine = this.line;
          this.objOffset = this.base + i;
          segStart = i;
        } else if (b === NL) {
          this.flushJunk(out);
          this.line++;
        } else if (!(isFiller(b) && this.junkOffset < 0)) {
          if (this.junkOffset < 0) {
            this.junkLine = this.line;
            this.junkOffset = this.base + i;
          }
          if (this.junk.length < 41) this.junk += String.fromCharCode(b >= 0x20 && b < 0x7f ? b : 0x3f);
        }
        i++;
        continue;
      }
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          if (b !== NL) {
            i++;
            continue;
          }
        }
        // Skip ordinary string bytes in a tight loop.
        let j = i;
        while (j < n) {
          const c = buf[j]!;
          if (c === QUOTE || c === BACKSLASH || c === NL) break;
          j++;
        }
        i = j;
        if (i === n) break;
        const c = buf[i]!;
        if (c === QUOTE) this.inString = false;
        else if (c === BACKSLASH) this.escape = true;
        else {
          // JSON strings never hold a raw newline: the object is damaged. Skip to the next object line.
          this.line++;
          segStart = -1;
          out.push(
            this.abandon('broken JSON object (string not closed before the end of the line); skipped'),
          );
          this.broken = true;
        }
        i++;
        continue;
      }
      if (b === NL) {
        this.line++;
      } else if (b === QUOTE) {
        this.inString = true;
      } else if (b === LBRACE) {
        const lineStart = i === 0 ? this.prevWasNewline : buf[i - 1] === NL;
        if (lineStart && this.objLine < this.line) {
          // A line starting with `{` while an earlier object is still open: that object was cut short.
          out.push(
            this.abandon(
              `incomplete JSON object (line ${this.line} starts a new object before it ended); skipped`,
            ),
          );
          this.depth = 1;
          this.objLine = this.line;
          this.objOffset = this.base + i;
          segStart = i;
        } else {
          this.depth++;
        }
      } else if (b === LBRACKET) {
        this.depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        this.depth--;
        if (this.depth === 0) {
          this.keep(buf, segStart, i + 1);
          segStart = -1;
          if (this.tooBig) {
            out.push(this.abandon(`JSON object longer than ${this.maxBytes} bytes; skipped`));
          } else {
            const text =
              this.parts.length === 1
                ? this.parts[0]!.toString('utf8')
                : Buffer.concat(this.parts, this.partLen).toString('utf8');
            out.push({ kind: 'object', text, line: this.objLine, offset: this.objOffset });
            this.parts = [];
            this.partLen = 0;
          }
        }
      }
      i++;
    }
    if (this.depth > 0 && !this.broken) this.keep(buf, segStart, n);
    if (n > 0) this.prevWasNewline = buf[n - 1] === NL;
    this.base += n;
    return out;
  }

  /** Ends the input; returns the problems left (stray text, an object cut short by the end). */
  end(): JsonObjectPiece[] {
    const out: JsonObjectPiece[] = [];
    this.flushJunk(out);
    if (this.depth > 0 && !this.broken) {
      out.push(
        this.abandon(`truncated input: unexpected end inside a JSON object (at byte offset ${this.base})`),
      );
    }
    return out;
  }

  private keep(buf: Buffer, start: number, end: number): void {
    if (start < 0 || end <= start) return;
    const len = end - start;
    if (!this.tooBig && this.partLen + len <= this.maxBytes) {
      this.parts.push(buf.subarray(start, end));
      this.partLen += len;
    } else {
      this.tooBig = true;
    }
  }

  private flushJunk(out: JsonObjectPiece[]): void {
    if (this.junkOffset < 0) return;
    const shown = this.junk.length > 40 ? `${this.junk.slice(0, 40)}…` : this.junk;
    out.push({
      kind: 'problem',
      message: `line ${this.junkLine} (byte offset ${this.junkOffset}): text outside any JSON object: ${JSON.stringify(shown)}`,
      line: this.junkLine,
      offset: this.junkOffset,
    });
    this.junkOffset = -1;
    this.junk = '';
  }

  private abandon(why: string): JsonObjectPiece {
    const piece: JsonObjectPiece = {
      kind: 'problem',
      message: `line ${this.objLine} (byte offset ${this.objOffset}): ${why}`,
      line: this.objLine,
      offset: this.objOffset,
    };
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.parts = [];
    this.partLen = 0;
    this.tooBig = false;
    return piece;
  }
}

/** `JsonObjectSplitter` over an async stream of chunks. */
export async function* jsonObjects(
  input: AsyncIterable<Buffer | string>,
  opts: JsonObjectsOptions = {},
): AsyncGenerator<JsonObjectPiece> {
  const splitter = new JsonObjectSplitter(opts);
  for await (const chunk of input) yield* splitter.push(chunk);
  yield* splitter.end();
}
