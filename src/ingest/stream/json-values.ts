import { isAscii, isUtf8 } from 'node:buffer';

/** Largest JSON record kept by default; a bigger one is reported and skipped. */
export const JSON_MAX_RECORD_BYTES = 1024 * 1024;

/** One top-level JSON value found in the input, or a problem with one. */
export type JsonItem =
  | {
      kind: 'value';
      value: unknown;
      /** 1-based line where the value starts. */
      line: number;
      /** Byte offset where the value starts. */
      offset: number;
      /** 0-based position of the value among all values (and broken values) of the input. */
      index: number;
    }
  | { kind: 'error'; message: string; line: number; offset: number; index: number };

export interface JsonValuesOptions {
  /** Largest record (bytes, roughly) kept in memory. Default `JSON_MAX_RECORD_BYTES`. */
  maxRecordBytes?: number;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0xfeff;
}

function byteCol(text: string, col: number): number {
  return col === 0 ? 0 : Buffer.byteLength(text.slice(0, col), 'utf8');
}

/** One line of input with where it starts. */
export interface TextLine {
  /** The line without its terminator; only the start of it when `tooLong`. */
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  tooLong: boolean;
  /** Bytes that are not UTF-8, or NUL bytes. */
  binary: boolean;
  /** True for a last line with no line break after it: the input may have been cut short. */
  unterminated?: boolean;
}

const NL = 0x0a;

/**
 * Splits byte chunks into lines, synchronously: Stream imports run at hundreds of thousands of
 * events per second, where one promise per line (as an async line reader needs) costs as much as
 * parsing the line. Constant memory: a line longer than `maxLineBytes` is cut and flagged.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partLen = 0;
  private tooLong = false;
  private lineNo = 1;
  private lineStart = 0;
  private pos = 0;

  /** `start`: where the first byte pushed sits in the whole input (reading a part of a bigger input). */
  constructor(
    private readonly maxLineBytes: number = JSON_MAX_RECORD_BYTES,
    start?: { line: number; offset: number },
  ) {
    if (start) {
      this.lineNo = start.line;
      this.lineStart = this.pos = start.offset;
    }
  }

  /** 1-based number of the next line to start. */
  get nextLine(): number {
    return this.lineNo;
  }

  /** Byte offset of the next line to start. */
  get nextOffset(): number {
    return this.lineStart;
  }

  /** True when no part of a line is held (everything pushed so far ended with a line break). */
  get idle(): boolean {
    return this.partLen === 0 && !this.tooLong;
  }

  /** The lines `chunk` completes. */
  push(chunk: Buffer | string): TextLine[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: TextLine[] = [];
    const max = this.maxLineBytes;
    let start = 0;
    // Decoding the whole chunk once costs a fraction of decoding each line on its own; in ASCII text
    // (what Stream and HEC senders write) character and byte offsets are the same.
    const str = typeof chunk === 'string' ? chunk : buf.toString('latin1');
    if (str.length === buf.length && isAscii(buf)) {
      const nul = str.includes('\0');
      while (start < buf.length) {
        if (this.partLen !== 0 || this.tooLong) break;
        const nl = str.indexOf('\n', start);
        if (nl === -1) break;
        let end = nl - start <= max ? nl : start + max;
        if (end > start && str.charCodeAt(end - 1) === 0x0d) end--;
        const text = str.slice(start, end);
        out.push({
          text,
          line: this.lineNo,
          offset: this.lineStart,
          tooLong: nl - start > max,
          binary: nul && text.includes('\0'),
        });
        this.pos += nl + 1 - start;
        this.lineNo++;
        this.lineStart = this.pos;
        start = nl + 1;
      }
    }
    while (start < buf.length) {
      const nl = buf.indexOf(NL, start);
      if (nl === -1) {
        this.keep(buf, start, buf.length);
        this.pos += buf.length - start;
        break;
      }
      if (this.partLen === 0 && !this.tooLong) {
        out.push(
          nl - start <= max
            ? this.make(buf.subarray(start, nl), false)
            : this.make(buf.subarray(start, start + max), true),
        );
      } else {
        this.keep(buf, start, nl);
        out.push(this.make(Buffer.concat(this.parts, this.partLen), this.tooLong));
        this.parts = [];
        this.partLen = 0;
        this.tooLong = false;
      }
      this.pos += nl + 1 - start;
      this.lineNo++;
      this.lineStart = this.pos;
      start = nl + 1;
    }
    return out;
  }

  /** The last line, when the input does not end with a line break. */
  end(): TextLine[] {
    if (this.partLen === 0 && !this.tooLong) return [];
    const l = this.make(Buffer.concat(this.parts, this.partLen), this.tooLong);
    l.unterminated = true;
    this.parts = [];
    this.partLen = 0;
    this.tooLong = false;
    return [l];
  }

  private keep(buf: Buffer, a: number, b: number): void {
    if (this.tooLong) return;
    const room = this.maxLineBytes - this.partLen;
    const take = Math.min(room, b - a);
    // Copied: the caller may reuse its chunk's memory.
    if (take > 0) {
      this.parts.push(Buffer.from(buf.subarray(a, a + take)));
      this.partLen += take;
    }
    if (b - a > room) this.tooLong = true;
  }

  private make(bytes: Buffer, tooLong: boolean): TextLine {
    let text = bytes.toString('utf8');
    if (text.length > 0 && text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
    // U+FFFD in the text means bad UTF-8, unless the input really contained that character.
    const binary = text.includes('\0') || (text.includes('\ufffd') && !isUtf8(bytes));
    return { text, line: this.lineNo, offset: this.lineStart, tooLong, binary };
  }
}

/**
 * Finds the top-level JSON values of a text input, line by line and in constant memory: NDJSON (one
 * value per line), values concatenated with or without whitespace between them (HEC bodies), values
 * pretty-printed over several lines, and a top-level JSON array whose elements are the records.
 *
 * A small depth-counting scanner (aware of strings and escapes) cuts the values and `JSON.parse`
 * reads each one: JSON.parse is the fastest validator Node has, and the scanner only needs to find
 * record boundaries. Streaming JSON libraries on npm either parse token by token in JavaScript
 * (several times slower than JSON.parse per record) or stop at the first syntax error, while
 * evidence files must keep every valid record around a broken one.
 *
 * Recovery: a compact value (one with content on the line of its opening bracket, as NDJSON and HEC
 * senders write) that reaches the end of its line is a broken record, so one truncated line never
 * swallows the next; pretty-printed values (the opening bracket ends its line) may span lines. A `{`
 * or `[` where JSON cannot have one (not after `,` `:` `[`) abandons the broken value and starts a
 * new one there, and a raw line break inside a string ends a broken value.
 */
export class JsonSplitter {
  private readonly maxRecord: number;
  private index = 0;
  // The value being read.
  private depth = 0;
  private inString = false;
  private escape = false;
  private lastSig = 0;
  private parts: string[] = [];
  private size = 0;
  private oversized = false;
  private startLine = 0;
  private startOffset = 0;
  // Inside a top-level array whose elements are the records.
  private arrayWrapper = false;

  constructor(opts: JsonValuesOptions = {}) {
    this.maxRecord = opts.maxRecordBytes ?? JSON_MAX_RECORD_BYTES;
  }

  private abandon(message: string): JsonItem {
    const item: JsonItem = {
      kind: 'error',
      message,
      line: this.startLine,
      offset: this.startOffset,
      index: this.index++,
    };
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.parts = [];
    this.size = 0;
    this.oversized = false;
    return item;
  }

  private finish(): JsonItem {
    if (this.oversized) return this.abandon(`record larger than ${this.maxRecord} bytes skipped`);
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n');
    this.parts = [];
    this.size = 0;
    try {
      const value: unknown = JSON.parse(text);
      return { kind: 'value', value, line: this.startLine, offset: this.startOffset, index: this.index++ };
    } catch (err) {
      return this.abandon(`invalid JSON: ${(err as Error).message}`);
    }
  }

  /** The values (and broken values) that `ln` completes. */
  line(ln: TextLine): JsonItem[] {
    const out: JsonItem[] = [];
    const text = ln.text;
    if (ln.tooLong || ln.binary) {
      if (this.depth > 0) out.push(this.abandon('record cut short by an unreadable line'));
      this.startLine = ln.line;
      this.startOffset = ln.offset;
      out.push(
        this.abandon(
          ln.tooLong
            ? `line longer than ${this.maxRecord} bytes skipped`
            : 'binary data (not UTF-8 text) skipped',
        ),
      );
      return out;
    }
    // Fast path: a whole line (or an array element line) that is one JSON object.
    if (this.depth === 0) {
      let a = 0;
      let b = text.length;
      while (a < b && isSpace(text.charCodeAt(a))) a++;
      while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
      if (this.arrayWrapper && b > a && text.charCodeAt(b - 1) === COMMA) b--;
      if (b - a >= 2 && text.charCodeAt(a) === OPEN_BRACE && text.charCodeAt(b - 1) === CLOSE_BRACE) {
        try {
          const value: unknown = JSON.parse(a === 0 && b === text.length ? text : text.slice(a, b));
          out.push({
            kind: 'value',
            value,
            line: ln.line,
            offset: ln.offset + byteCol(text, a),
            index: this.index++,
          });
          return out;
        } catch {
          // Several values on the line, or a broken one: scan it.
        }
      }
    }
    let segStart = 0;
    let garbageReported = false;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.depth > 0) {
        if (this.inString) {
          if (this.escape) this.escape = false;
          else if (c === BACKSLASH) this.escape = true;
          else if (c === QUOTE) {
            this.inString = false;
            this.lastSig = QUOTE;
          }
          continue;
        }
        if (c === QUOTE) {
          this.inString = true;
          continue;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          const l = this.lastSig;
          if (l === COMMA || l === COLON || l === OPEN_BRACKET) {
            this.depth++;
            this.lastSig = c;
            continue;
          }
          out.push(this.abandon('invalid JSON: record cut short (a new value starts inside it)'));
          // Start afresh on this bracket, below (a stray `[` outside an array is skipped).
          if (c === OPEN_BRACKET && !this.arrayWrapper) continue;
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          this.depth--;
          this.lastSig = c;
          if (this.depth === 0) {
            const seg = text.slice(segStart, i + 1);
            this.size += seg.length;
            if (this.size > this.maxRecord) this.oversized = true;
            if (!this.oversized) this.parts.push(seg);
            out.push(this.finish());
          }
          continue;
        } else {
          if (!isSpace(c)) this.lastSig = c;
          continue;
        }
      }
      // Between values.
      if (isSpace(c)) continue;
      if (c === OPEN_BRACE || (c === OPEN_BRACKET && this.arrayWrapper)) {
        this.depth = 1;
        this.lastSig = c;
        segStart = i;
        this.startLine = ln.line;
        this.startOffset = ln.offset + byteCol(text, i);
        this.parts = [];
        this.size = 0;
        this.oversized = false;
        continue;
      }
      if (c === OPEN_BRACKET) {
        this.arrayWrapper = true;
        continue;
      }
      if (this.arrayWrapper && c === COMMA) continue;
      if (this.arrayWrapper && c === CLOSE_BRACKET) {
        this.arrayWrapper = false;
        continue;
      }
      if (!garbageReported) {
        garbageReported = true;
        this.startLine = ln.line;
        this.startOffset = ln.offset + byteCol(text, i);
        out.push(this.abandon('text that is not a JSON object skipped'));
      }
    }
    if (this.depth > 0) {
      if (this.inString) {
        out.push(this.abandon('invalid JSON: line break inside a string (record cut short)'));
      } else if (this.startLine === ln.line && text.slice(segStart + 1).trim() !== '') {
        // Compact JSON (content right after the opening bracket) never spans lines: only
        // pretty-printers break lines, and they break right after the opening bracket.
        out.push(this.abandon('invalid JSON: record cut short at the end of its line'));
      } else {
        const seg = text.slice(segStart);
        this.size += seg.length + 1;
        if (this.size > this.maxRecord) this.oversized = true;
        if (!this.oversized) this.parts.push(seg);
      }
    }
    return out;
  }

  /**
   * True between values outside any top-level array: what follows is read exactly as a new splitter
   * would read it (the next value's `index` aside), so an input can be cut there and its parts read apart.
   */
  get clean(): boolean {
    return this.depth === 0 && !this.arrayWrapper;
  }

  /** Call at the end of input: reports a value left open. */
  end(): JsonItem[] {
    return this.depth > 0 ? [this.abandon('invalid JSON: input ends inside a record')] : [];
  }
}

/** The top-level JSON values of `input` (see `JsonSplitter`), as an async iterable. */
export async function* jsonValues(
  input: AsyncIterable<Buffer | string>,
  opts: JsonValuesOptions = {},
): AsyncGenerator<JsonItem> {
  const lines = new LineSplitter(opts.maxRecordBytes ?? JSON_MAX_RECORD_BYTES);
  const json = new JsonSplitter(opts);
  for await (const chunk of input) {
    for (const ln of lines.push(chunk)) yield* json.line(ln);
  }
  for (const ln of lines.end()) yield* json.line(ln);
  yield* json.end();
}
