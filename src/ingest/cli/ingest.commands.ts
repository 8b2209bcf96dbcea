import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import { callApi, resolveTarget } from '../../cli/client.ts';
import { printJson } from '../../cli/output.ts';
import { AppError } from '../../util/errors.ts';
import { FORMAT_NAMES } from '../formats.ts';
import type { IngestIssue, IngestSummary } from '../ingest.service.ts';

interface IngestOpts {
  format?: string;
  host?: string;
  json?: boolean;
  alert?: boolean;
  learning?: boolean;
}

/** `FILE:LINE: message` (or `FILE: byte N: message`, with a JSON pointer when there is one). */
export function formatIssue(file: string, i: IngestIssue): string {
  let where = i.file && i.file !== 'stdin' ? i.file : file;
  if (i.line !== undefined) where += `:${i.line}`;
  const extra: string[] = [];
  if (i.line === undefined && i.offset !== undefined) extra.push(`byte ${i.offset}`);
  if (i.pointer) extra.push(`at ${i.pointer}`);
  return `${where}: ${extra.length ? `${extra.join(' ')}: ` : ''}${i.message}${i.line !== undefined ? ` (line ${i.line})` : ''}`;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** `portcullis ingest FILE…`: streams each file to POST /api/imports and prints what it did. */
export function registerIngestCommands(program: Command): void {
  program
    .command('ingest')
    .description(
      `import evidence files, plain or gzip-compressed, into the baseline (format detected from content: ${FORMAT_NAMES.join(', ')}). ` +
        'The first import into an empty baseline is a learning run (no alerts) unless --alert is given. "-" reads stdin.',
    )
    .argument('<files...>', 'files to import, or - for standard input')
    .option('--format <format>', `input format (default: detected): ${FORMAT_NAMES.join(', ')}`)
    .option('--host <host>', 'the reporting host, for host listings (ss, netstat, osquery)')
    .option('--alert', 'raise containers even if the baseline is empty (no learning run)')
    .option('--learning', 'record without raising containers, even if the baseline is not empty')
    .option('--json', 'print the summaries as JSON')
    .action(async (files: string[], opts: IngestOpts) => {
      if (opts.format && !(FORMAT_NAMES as readonly string[]).includes(opts.format))
        throw new AppError(
          'bad_format',
          `--format "${opts.format}": must be one of ${FORMAT_NAMES.join(', ')}`,
        );
      if (opts.alert && opts.learning)
        throw new AppError('bad_options', '--alert and --learning exclude each other');
      const target = resolveTarget();
      const results: Array<
        | (IngestSummary & { file: string; import_id?: number })
        | { file: string; failed: true; message: string }
      > = [];
      let failures = 0;
      for (const file of files) {
        try {
          const res = await ingestOne(target, file, opts);
          results.push({ ...res, file: file === '-' ? 'stdin' : file });
          if (!opts.json) printSummary(file, res);
        } catch (e) {
          failures++;
          const message = e instanceof AppError ? e.message : (e as Error).message;
          results.push({ file, failed: true, message });
          if (!opts.json) process.stderr.write(`${file}: ${message}\n`);
        }
      }
      if (opts.json) printJson(files.length === 1 ? results[0] : results);
      if (failures) process.exitCode = failures === files.length ? 2 : 1;
    });
}

async function ingestOne(
  target: ReturnType<typeof resolveTarget>,
  file: string,
  opts: IngestOpts,
): Promise<IngestSummary & { import_id?: number }> {
  const stdin = file === '-';
  let size: number | undefined;
  let mtime: Date | undefined;
  if (!stdin) {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      throw new AppError(
        'unreadable_file',
        `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (!st.isFile()) throw new AppError('unreadable_file', `${file} is not a regular file`);
    size = st.size;
    mtime = st.mtime;
  }
  const params = new URLSearchParams({ filename: stdin ? 'stdin' : basename(file) });
  if (opts.format) params.set('format', opts.format);
  if (opts.host) params.set('host', opts.host);
  if (opts.alert) params.set('learning', 'false');
  if (opts.learning) params.set('learning', 'true');
  // Records without their own time (netcat, ss) are dated by the file: re-importing it changes nothing.
  if (mtime) params.set('observed_at', mtime.toISOString());
  const source = stdin ? process.stdin : createReadStream(file);
  const openError = new Promise<never>((_, reject) => {
    source.once('error', (e: NodeJS.ErrnoException) =>
      reject(new AppError('unreadable_file', `cannot read ${file}: ${e.code ?? e.message}`)),
    );
  });
  openError.catch(() => {});
  if (!stdin) await Promise.race([new Promise((r) => source.once('open', r)), openError]);
  const tty = process.stderr.isTTY && !opts.json;
  let sent = 0;
  let lastDraw = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw > 200) {
          lastDraw = now;
          const pct = size ? ` (${Math.floor((sent / size) * 100)}%)` : '';
          process.stderr.write(
            `\r${file}: ${humanBytes(sent)}${size !== undefined ? ` of ${humanBytes(size)}` : ''} sent${pct}   `,
          );
        }
      }
      cb(null, chunk);
    },
  });
  source.on('error', (e: Error) => progress.destroy(e));
  source.pipe(progress);
  try {
    const { body } = await Promise.race([
      callApi<IngestSummary & { import_id?: number }>(target, 'POST', `/api/imports?${params}`, {
        raw: progress,
        contentType: 'application/octet-stream',
      }),
      openError,
    ]);
    return body;
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

function printSummary(file: string, s: IngestSummary): void {
  const parts = [
    `${s.records} records read`,
    `${s.observations} observations`,
    `${s.new_services} new services`,
    `${s.updated_services} updated`,
    s.learning ? 'learning run: no containers raised' : `${s.containers} containers raised`,
  ];
  process.stdout.write(`${file}: ${s.format ?? 'unknown format'}: ${parts.join(', ')}\n`);
  if (s.issues_total) {
    process.stdout.write(
      `${file}: ${s.issues_total} problem${s.issues_total === 1 ? '' : 's'} in the input (valid records were kept):\n`,
    );
    for (const i of s.issues) process.stdout.write(`  ${formatIssue(file, i)}\n`);
    if (s.issues_total > s.issues.length)
      process.stdout.write(`  … and ${s.issues_total - s.issues.length} more\n`);
  }
}
