/** Longest string kept from one input field (service product, banner…); longer values are cut. */
export const MAX_FIELD_CHARS = 2048;

/** `value` cut to `max` characters, or undefined for empty / missing values. */
export function clip(value: string | undefined | null, max = MAX_FIELD_CHARS): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return value.length > max ? value.slice(0, max) : value;
}

/** A short, printable excerpt of an offending value for an issue message. */
export function excerpt(value: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
  return JSON.stringify(printable.length > max ? `${printable.slice(0, max)}…` : printable);
}

/** A Date from epoch seconds given as a number or decimal string, or null when absent or invalid. */
export function dateFromEpochSeconds(value: unknown): Date | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 1e11) return null;
  return new Date(Math.round(n * 1000));
}

/** Splits every chunk of `input` into buffers of at most `size` bytes, so one huge chunk cannot stall a parser. */
export async function* byteSlices(
  input: AsyncIterable<Buffer | string>,
  size = 64 * 1024,
): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length <= size) {
      if (buf.length > 0) yield buf;
      continue;
    }
    for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  }
}

// The minute `YYYY-MM-DDTHH:MM:` last seen by `isoTimeMs`, and its time with 0 seconds. Flow records
// arrive in time order, so nearly every timestamp shares its minute with the one before.
let minutePrefix = '';
let minuteMs = NaN;

function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

/** True when `text` starts with `YYYY-MM-DDTHH:MM:` with an hour below 24 (other ranges unchecked). */
function isIsoMinute(text: string): boolean {
  for (let i = 0; i < 17; i++) {
    const c = text.charCodeAt(i);
    const want = i === 4 || i === 7 ? 0x2d : i === 10 ? 0x54 : i === 13 || i === 16 ? 0x3a : -1;
    if (want === -1 ? c < 0x30 || c > 0x39 : c !== want) return false;
  }
  // Hour 24 is valid only as 24:00:00.000 (the end of the day), so it is not linear in the seconds.
  return (text.charCodeAt(11) - 0x30) * 10 + text.charCodeAt(12) - 0x30 <= 23;
}

/**
 * `Date.parse(text)`, with a fast path for the UTC form `YYYY-MM-DDTHH:MM:SS.sssZ` that
 * `Date.prototype.toISOString` and Splunk Stream write: the minute is parsed once (by `Date.parse`) and
 * only the seconds and milliseconds per call. Any other text, or a second outside 0-59, is handed to
 * `Date.parse` as is, so the result is always the same as `Date.parse`'s.
 */
export function isoTimeMs(text: string): number {
  if (
    text.length === 24 &&
    text.charCodeAt(16) === 0x3a /* : */ &&
    text.charCodeAt(19) === 0x2e /* . */ &&
    text.charCodeAt(23) === 0x5a /* Z */
  ) {
    const s1 = digit(text, 17);
    const s2 = digit(text, 18);
    const m1 = digit(text, 20);
    const m2 = digit(text, 21);
    const m3 = digit(text, 22);
    if (s1 >= 0 && s1 <= 5 && s2 >= 0 && m1 >= 0 && m2 >= 0 && m3 >= 0) {
      if (minutePrefix === '' || !text.startsWith(minutePrefix)) {
        if (!isIsoMinute(text)) return Date.parse(text);
        const prefix = text.slice(0, 17);
        minuteMs = Date.parse(`${prefix}00.000Z`);
        minutePrefix = prefix;
      }
      if (Number.isNaN(minuteMs)) return NaN;
      return minuteMs + (s1 * 10 + s2) * 1000 + m1 * 100 + m2 * 10 + m3;
    }
  }
  return Date.parse(text);
}
