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
