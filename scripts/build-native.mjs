// Builds the native scan engine (binding.gyp → build/Release/portcullis_scan.node) with node-gyp.
// Run by `npm ci` (prepare) and before `npm start`, `npm test` and `npm run bench`; it does nothing
// when the built module is newer than every source. A failed build never fails the install: the
// scanner then runs its JavaScript engine, and this says so. `--force` rebuilds anyway; `--strict`
// makes a failed build an error (CI, where the native engine is expected).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const output = join(root, 'build/Release/portcullis_scan.node');
// Written when a build fails, so that later starts do not try (and print the same failure) again
// until a source changes or --force is given.
const failedMark = join(root, 'build/native-build-failed');
const sources = existsSync(join(root, 'native'))
  ? [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))]
  : [];
const force = process.argv.includes('--force');
const strict = process.argv.includes('--strict');

if (process.platform !== 'linux') {
  console.warn('native scan engine: Linux only; the scanner uses its JavaScript engine here');
  process.exit(0);
}

if (sources.length === 0) fail('native/ is missing from this checkout');
const newest = Math.max(...sources.map((f) => (existsSync(f) ? statSync(f).mtimeMs : Infinity)));
const builtAt = existsSync(output) ? statSync(output).mtimeMs : 0;
if (!force && builtAt > 0 && newest <= builtAt) process.exit(0);
if (!force && !strict && existsSync(failedMark) && newest <= statSync(failedMark).mtimeMs) process.exit(0);

// npm hands lifecycle scripts the node-gyp it bundles; outside npm, look for that same copy.
const gyp = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].find((p) => p && existsSync(p));
if (!gyp) {
  fail('node-gyp not found (it comes with npm)');
} else {
  const args = [gyp, 'rebuild'];
  // Build against the headers of the Node.js that runs this, when they are installed beside it: no
  // download needed.
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h')))
    args.push(`--nodedir=${prefix}`);
  // No build takes minutes: a node-gyp stuck (say, trying to download headers) must not hang an install.
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0)
    fail(
      `node-gyp failed:\n${(r.stderr || r.stdout || (r.error ? String(r.error) : `exit code ${r.status}`)).trim().split('\n').slice(-15).join('\n')}`,
    );
}

/** @param {string} why */
function fail(why) {
  try {
    mkdirSync(dirname(failedMark), { recursive: true });
    writeFileSync(failedMark, `${why}\n`);
  } catch {
    // best effort: without the mark, the next start just tries again
  }
  console.warn(`native scan engine not built: ${why}\nThe scanner uses its JavaScript engine instead.`);
  process.exit(strict ? 1 : 0);
}
