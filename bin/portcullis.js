#!/usr/bin/env node
// Entry point of the `portcullis` command. The sources are TypeScript run through tsx's loader, so a
// checkout needs no build step between `npm ci` and `npm start`. Short commands start from the bundle
// that `npm ci` builds into dist/cli/ (scripts/build-cli.mjs), which skips compiling at start-up, but
// only while every source file that command runs from is unchanged since the build; otherwise, and
// always for `serve`, they run from the sources. PORTCULLIS_CLI_BUNDLE=0 turns the bundle off.
import { freshBundle } from './cli-bundle.js';

const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const bundle =
  command === 'serve' || process.env.PORTCULLIS_CLI_BUNDLE === '0'
    ? undefined
    : freshBundle(new URL('../', import.meta.url), command);
let main;
if (bundle) ({ main } = await import(bundle.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
