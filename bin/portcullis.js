#!/usr/bin/env node
// Entry point of the `portcullis` command. The sources are TypeScript run through tsx's loader, so a
// checkout needs no build step between `npm ci` and `npm start`. `npm ci` also builds two bundles
// (scripts/build-cli.mjs): short commands start from dist/cli/, which skips compiling at start-up, and
// `serve` from dist/server/, which also leaves out tsx's loader thread and compiled modules (about
// 70 MB of resident memory for the server's lifetime). A bundle is used only while every source file
// the command runs from is unchanged since the build; otherwise the command runs from the sources.
// PORTCULLIS_CLI_BUNDLE=0 turns both bundles off.
import { freshBundle } from './cli-bundle.js';

const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const bundle =
  process.env.PORTCULLIS_CLI_BUNDLE === '0'
    ? undefined
    : freshBundle(
        new URL('../', import.meta.url),
        command,
        command === 'serve' ? 'dist/server/' : 'dist/cli/',
      );
let main;
if (bundle) ({ main } = await import(bundle.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
