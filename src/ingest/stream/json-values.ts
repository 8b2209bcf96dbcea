import { readLines } from '../common/lines.ts';

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

/**
 * Finds the top-level JSON values of a text input, streaming and in constant memory: NDJSON (one
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
export async function* jsonValues(
  input: AsyncIterable<Buffer | string>,
  opts: JsonValuesOptions = {},
): AsyncGenerator<JsonItem> {
  const maxRecord = opts.maxRecordBytes ?? JSON_MAX_RECORD_BYTES;
  let index = 0;
  // Pending value state.
  let depth = 0;
  let inString = false;
  let escape = false;
  let lastSig = 0;
  let parts: string[] = [];
  let size = 0;
  let oversized = false;
  let startLine = 0;
  let startOffset = 0;
  // Whole-input state.
  let arrayWrapper = false;

  const abandon = (message: string): JsonItem => {
    const item: JsonItem = { kind: 'error', message, line: startLine, offset: startOffset, index: index++ };
    depth = 0;
    inString = false;
    escape = false;
    parts = [];
    size = 0;
    oversized = false;
    return item;
  };

  const finish = (): JsonItem => {
    if (oversized) return abandon(`record larger than ${maxRecord} bytes skipped`);
    const text = parts.length === 1 ? parts[0]! : parts.join('\n');
    parts = [];
    size = 0;
    try {
      return { kind: 'value', value: JSON.parse(text), line: startLine, offset: startOffset, index: index++ };
    } catch (err) {
      return abandon(`invalid JSON: ${(err as Error).message}`);
    }
  };

  for await (const ln of readLines(input, { maxLineBytes: maxRecord })) {
    const text = ln.text;
    if (ln.tooLong || ln.binary) {
      if (depth > 0) yield abandon('record cut short by an unreadable line');
      startLine = ln.line;
      startOffset = ln.offset;
      yield abandon(
        ln.tooLong ? `line longer than ${maxRecord} bytes skipped` : 'binary data (not UTF-8 text) skipped',
      );
      continue;
    }
    // Fast path: a whole line (or an array element line) that is one JSON object.
    if (depth === 0) {
      let a = 0;
      let b = text.length;
      while (a < b && isSpace(text.charCodeAt(a))) a++;
      while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
      if (arrayWrapper && b > a && text.charCodeAt(b - 1) === COMMA) b--;
      if (b - a >= 2 && text.charCodeAt(a) === OPEN_BRACE && text.charCodeAt(b - 1) === CLOSE_BRACE) {
        let value: unknown;
        let ok = true;
        try {
          value = JSON.parse(a === 0 && b === text.length ? text : text.slice(a, b));
        } catch {
          ok = false;
        }
        if (ok) {
          yield { kind: 'value', value, line: ln.line, offset: ln.offset + byteCol(text, a), index: index++ };
          continue;
        }
      }
    }
    let segStart = 0;
    let garbageReported = false;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (depth > 0) {
        if (inString) {
          if (escape) escape = false;
          else if (c === BACKSLASH) escape = true;
          else if (c === QUOTE) {
            inString = false;
            lastSig = QUOTE;
          }
          continue;
        }
        if (c === QUOTE) {
          inString = true;
          continue;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          if (lastSig !== COMMA && lastSig !== COLON && lastSig !== OPEN_BRACKET) {
            yield abandon('invalid JSON: record cut short (a new value starts inside it)');
            // Start afresh on this bracket, below (a stray `[` outside an array is skipped).
            if (c === OPEN_BRACKET && !arrayWrapper) continue;
          } else {
            depth++;
            lastSig = c;
            continue;
          }
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          depth--;
          lastSig = c;
          if (depth === 0) {
            const seg = text.slice(segStart, i + 1);
            size += seg.length;
            if (size > maxRecord) oversized = true;
            if (!oversized) parts.push(seg);
            yield finish();
          }
          continue;
        } else {
          if (!isSpace(c)) lastSig = c;
          continue;
        }
      }
      // depth === 0: between values.
      if (isSpace(c)) continue;
      if (c === OPEN_BRACE || (c === OPEN_BRACKET && arrayWrapper)) {
        depth = 1;
        lastSig = c;
        segStart = i;
        startLine = ln.line;
        startOffset = ln.offset + byteCol(text, i);
        parts = [];
        size = 0;
        oversized = false;
        continue;
      }
      if (c === OPEN_BRACKET) {
        arrayWrapper = true;
        continue;
      }
      if (arrayWrapper && c === COMMA) continue;
      if (arrayWrapper && c === CLOSE_BRACKET) {
        arrayWrapper = false;
        continue;
      }
      if (!garbageReported) {
        garbageReported = true;
        startLine = ln.line;
        startOffset = ln.offset + byteCol(text, i);
        yield abandon('text that is not a JSON object skipped');
      }
    }
    if (depth > 0) {
      if (inString) {
        yield abandon('invalid JSON: line break inside a string (record cut short)');
      } else if (startLine === ln.line && text.slice(segStart + 1).trim() !== '') {
        // Compact JSON (content right after the opening bracket) never spans lines: only
        // pretty-printers break lines, and they break right after the opening bracket.
        yield abandon('invalid JSON: record cut short at the end of its line');
      } else {
        const seg = text.slice(segStart);
        size += seg.length + 1;
        if (size > maxRecord) oversized = true;
        if (!oversized) parts.push(seg);
      }
    }
  }
  if (depth > 0) yield abandon('invalid JSON: input ends inside a record');
}
