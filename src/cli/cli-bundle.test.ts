import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error plain JavaScript next to the entry point, without declarations
import { freshBundle as freshBundleJs } from '../../bin/cli-bundle.js';

const freshBundle = freshBundleJs as (root: URL) => URL | undefined;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function fakeCheckout(): { dir: string; root: URL; src: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pcscan-bundle-'));
  const src = join(dir, 'src', 'a.ts');
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(src, 'export const a = 1;\n');
  const st = statSync(src);
  writeFileSync(
    join(dir, 'dist', 'cli', 'inputs.json'),
    JSON.stringify({ inputs: [{ path: 'src/a.ts', size: st.size, mtimeMs: st.mtimeMs }] }),
  );
  return { dir, root: pathToFileURL(`${dir}/`), src };
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

  it('is not used once a source is edited, touched, removed, or the list is missing or damaged', () => {
    const cases: Array<[string, (c: ReturnType<typeof fakeCheckout>) => void]> = [
      ['edited', (c) => writeFileSync(c.src, 'export const a = 22;\n')],
      ['touched', (c) => utimesSync(c.src, new Date(), new Date(Date.now() + 5000))],
      ['removed', (c) => rmSync(c.src)],
      ['no list', (c) => rmSync(join(c.dir, 'dist', 'cli', 'inputs.json'))],
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
        assert.equal(freshBundle(c.root), undefined, name);
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
      const { inputs } = JSON.parse(readFileSync(join(out, 'inputs.json'), 'utf8')) as {
        inputs: Array<{ path: string }>;
      };
      const paths = inputs.map((i) => i.path);
      assert.ok(paths.includes('src/cli/main.ts') && paths.includes('src/scan/cli/scan.commands.ts'));
      assert.ok(!paths.includes('src/app.ts'), 'the server is not in the CLI bundle');
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
