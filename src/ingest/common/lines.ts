/** One line of a text input, with where it started. */
export interface InputLine {
  /** The line without its terminator (`\n` or `\r\n`); cut to `maxLineBytes` when too long. */
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the input. */
  offset: number;
  /** True when the line was longer than `maxLineBytes` (its text is only the start). */
  tooLong: boolean;
  /** True when the line contained bytes that are not valid UTF-8 or NUL bytes (binary data). */
  binary: boolean;
  /** True for a last line that the input ended without a terminator (maybe cut short). */
  unterminated?: boolean;
}

export interface ReadLinesOptions {
  /** Longest line kept in memory, in bytes; longer lines are reported with `tooLong`. Default 1 MiB. */
  maxLineBytes?: number;
}

const NL = 0x0a;

// One decoder for every line: creating a TextDecoder per line costs more than decoding short lines.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decode(buf: Buffer): { text: string; binary: boolean } {
  let binary = buf.includes(0);
  let text: string;
  try {
    text = strictUtf8.decode(buf);
  } catch {
    binary = true;
    text = buf.toString('utf8');
  }
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return { text, binary };
}

/**
 * Splits a byte stream into lines in constant memory: a line longer than `maxLineBytes` is not
 * accumulated; its first bytes are yielded with `tooLong` set and the rest skipped. A last line
 * without a terminator is yielded too.
 */
export async function* readLines(
  input: AsyncIterable<Buffer | string>,
  opts: ReadLinesOptions = {},
): AsyncGenerator<InputLine> {
  const max = opts.maxLineBytes ?? 1024 * 1024;
  let parts: Buffer[] = [];
  let partLen = 0;
  let tooLong = false;
  let lineNo = 1;
  let lineStart = 0;
  let pos = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NL, start);
      const end = nl === -1 ? buf.length : nl;
      if (!tooLong) {
        const room = max - partLen;
        const take = Math.min(room, end - start);
        if (take > 0) {
          parts.push(buf.subarray(start, start + take));
          partLen += take;
        }
        if (end - start > room) tooLong = true;
      }
      if (nl === -1) {
        pos += buf.length - start;
        break;
      }
      pos += nl + 1 - start;
      const { text, binary } = decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts, partLen));
      yield { text, line: lineNo, offset: lineStart, tooLong, binary };
      lineNo++;
      lineStart = pos;
      parts = [];
      partLen = 0;
      tooLong = false;
      start = nl + 1;
    }
  }
  if (partLen > 0 || tooLong) {
    const { text, binary } = decode(Buffer.concat(parts, partLen));
    yield { text, line: lineNo, offset: lineStart, tooLong, binary, unterminated: true };
  }
}

/** Turns a string or buffer into the async iterable parsers take (handy in tests). */
export async function* fromChunks(...chunks: Array<string | Buffer>): AsyncGenerator<Buffer | string> {
  for (const c of chunks) yield c;
}
