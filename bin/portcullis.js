#!/usr/bin/env node
// Entry point of the `portcullis` command. The sources are TypeScript run through tsx's loader,
// so a checkout needs no build step between `npm ci` and `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
