import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMMAND_MODULES } from './commands.ts';
// @ts-expect-error plain JavaScript next to the entry point, without declarations
import { freshBundle as freshBundleJs } from '../../bin/cli-bundle.js';

const freshBundle = freshBundleJs as (root: URL, command?: string) => URL | undefined;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A checkout with src/a.ts (what `scan` runs from) and src/b.ts (used by another command only). */
function fakeCheckout(): { dir: string; root: URL; src: string; other: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pcscan-bundle-'));
  const src = join(dir, 'src', 'a.ts');
  const other = join(dir, 'src', 'b.ts');
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(src, 'export const a = 1;\n');
  writeFileSync(other, 'export const b = 1;\n');
  const entry = (path: string) => {
    const st = statSync(join(dir, path));
    return { path, size: st.size, mtimeMs: st.mtimeMs };
  };
  writeFileSync(
    join(dir, 'dist', 'cli', 'inputs.json'),
    JSON.stringify({
      inputs: [entry('src/a.ts'), entry('src/b.ts')],
      commands: { scan: ['src/a.ts'], ingest: ['src/a.ts', 'src/b.ts'] },
      files: ['main.js', 'chunk-1.js'],
    }),
  );
  for (const f of ['main.js', 'chunk-1.js']) writeFileSync(join(dir, 'dist', 'cli', f), '');
  return { dir, root: pathToFileURL(`${dir}/`), src, other };
}

describe('CLI bundle freshness', () => {
  it('is used while its sources are unchanged', () => {
    const c = fakeCheckout();
    try {
      assert.equal(freshBundle(c.root)?.href, new URL('dist/cli/main.js', c.root).href);
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  it('checks only the sources of the command that runs', () => {
    const c = fakeCheckout();
    try {
      writeFileSync(c.other, 'export const b = 22;\n');
      assert.ok(freshBundle(c.root, 'scan'), 'scan does not run b.ts');
      assert.equal(freshBundle(c.root, 'ingest'), undefined);
      assert.equal(freshBundle(c.root, undefined), undefined, 'help and --version check every source');
      assert.equal(freshBundle(c.root, 'no-such-command'), undefined);
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  it('is not used once a source is edited, touched, removed, or the list is missing or damaged', () => {
    const cases: Array<[string, (c: ReturnType<typeof fakeCheckout>) => void]> = [
      ['edited', (c) => writeFileSync(c.src, 'export const a = 22;\n')],
      ['touched', (c) => utimesSync(c.src, new Date(), new Date(Date.now() + 5000))],
      ['removed', (c) => rmSync(c.src)],
      ['no list', (c) => rmSync(join(c.dir, 'dist', 'cli', 'inputs.json'))],
      ['bundle file gone', (c) => rmSync(join(c.dir, 'dist', 'cli', 'chunk-1.js'))],
      ['damaged list', (c) => writeFileSync(join(c.dir, 'dist', 'cli', 'inputs.json'), '{"inputs": [')],
      [
        'path outside',
        (c) =>
          writeFileSync(
            join(c.dir, 'dist', 'cli', 'inputs.json'),
            JSON.stringify({ inputs: [{ path: '../x.ts', size: 1, mtimeMs: 1 }] }),
          ),
      ],
    ];
    for (const [name, change] of cases) {
      const c = fakeCheckout();
      try {
        change(c);
        assert.equal(freshBundle(c.root, 'scan'), undefined, name);
      } finally {
        rmSync(c.dir, { recursive: true, force: true });
      }
    }
  });

  it('the built bundle runs commands like the sources and leaves the server out', () => {
    const out = join(ROOT, 'dist', `cli-test-${process.pid}`);
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--outdir', out], {
        encoding: 'utf8',
      });
      const { inputs, commands } = JSON.parse(readFileSync(join(out, 'inputs.json'), 'utf8')) as {
        inputs: Array<{ path: string }>;
        commands: Record<string, string[]>;
      };
      const paths = inputs.map((i) => i.path);
      assert.ok(paths.includes('src/cli/main.ts') && paths.includes('src/scan/cli/scan.commands.ts'));
      assert.ok(!paths.includes('src/app.ts'), 'the server is not in the CLI bundle');
      // every command has its list; scan's holds its own module and main, not the ingest parsers
      for (const m of COMMAND_MODULES) for (const name of m.names) assert.ok(commands[name], name);
      assert.ok(commands.scan!.includes('src/scan/cli/scan.commands.ts'));
      assert.ok(commands.scan!.includes('src/cli/main.ts'));
      assert.ok(!commands.scan!.some((p) => p.startsWith('src/ingest/')));
      assert.ok(commands.ingest!.includes('src/ingest/cli/ingest.commands.ts'));
      const run = (...args: string[]) =>
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            'const { main } = await import(process.argv[1]); await main(["node", "portcullis", ...process.argv.slice(2)]);',
            pathToFileURL(join(out, 'main.js')).href,
            ...args,
          ],
          { encoding: 'utf8' },
        );
      // version.ts finds package.json relative to its source file, from the bundle too
      assert.equal(run('--version').trim(), VERSION);
      assert.match(run('scan', '--help'), /--ports <ports>/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
