/** Prints rows as an aligned text table with the given columns. */
export function printTable(
  rows: Array<Record<string, unknown>>,
  columns: string[],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.join(',');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const r of cells) out.write(`${line(r)}\n`);
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
