// `npm run bench`: runs every bench/*.bench.ts one after the other, each in its own process (so one's
// memory figures are not another's), with its default sizes; `npm run bench -- NAME…` runs only the
// benchmarks whose file name contains one of the NAMEs (e.g. `npm run bench -- ingest parsers`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n== ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${f}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
