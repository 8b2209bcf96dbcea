// Bundles the command line (src/cli/main.ts and the command modules it loads lazily) into plain
// JavaScript under dist/cli/, so short commands start without compiling TypeScript at run time (tsx
// costs a loader thread and a compile per module: most of a short command's start-up).
// bin/portcullis.js uses the bundle only while every source file it was built from is unchanged
// (dist/cli/inputs.json records their sizes and modification times) and falls back to tsx otherwise:
// stale code never runs. `serve` always runs from the sources. Runs at `npm ci` (the prepare script);
// a failure here only costs start-up time, so it warns instead of failing the install.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// --outdir DIR builds elsewhere (tests); bin/portcullis.js only looks at dist/cli.
const outArg = process.argv.indexOf('--outdir');
const outdir = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, 'dist', 'cli');

/** Sizes and modification times of the sources, taken before reading them (a later edit shows). */
const seen = new Map();

/** Keeps `import.meta.url` pointing at the source file, so files found relative to it still are. */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(build) {
    // `serve` always runs from the sources (bin/portcullis.js): leave the server out of the bundle.
    build.onResolve({ filter: /^\.\.\/(app|config\/index|logging\/index)\.ts$/ }, (args) =>
      args.importer.endsWith(join('src', 'cli', 'main.ts')) ? { path: args.path, external: true } : undefined,
    );
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const st = statSync(args.path);
      seen.set(args.path, { size: st.size, mtimeMs: st.mtimeMs });
      const text = readFileSync(args.path, 'utf8');
      if (/import\.meta\.(?!url\b)/.test(text))
        throw new Error(
          `${relative(root, args.path)} uses import.meta beyond .url; the CLI bundle cannot keep it`,
        );
      const rel = relative(outdir, args.path).split('\\').join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'ts',
      };
    });
  },
};

/**
 * For each top-level command, the sources of the bundle files it runs: main.js and what it imports,
 * plus the command module's chunk and what that imports. A change elsewhere (say in the ingest
 * parsers) then leaves `portcullis scan` on the bundle.
 */
async function commandInputs(metafile) {
  const outs = metafile.outputs;
  const key = (file) => relative(root, join(outdir, file)).split('\\').join('/');
  const closure = (start, into = new Set()) => {
    if (into.has(start) || !outs[start]) return into;
    into.add(start);
    for (const i of outs[start].imports) if (i.kind === 'import-statement') closure(i.path, into);
    return into;
  };
  const sourcesOf = (files) => [...new Set([...files].flatMap((f) => Object.keys(outs[f].inputs)))].sort();
  const base = closure(key('main.js'));
  const { COMMAND_MODULES } = await import(pathToFileURL(join(outdir, 'commands.js')).href);
  const commands = {};
  for (const m of COMMAND_MODULES) {
    // load() is `async () => (await import("./chunk.js")).register…`: the chunk it names is the module
    const chunk = /import\(\s*["']\.\/([^"']+)["']\s*\)/.exec(m.load.toString())?.[1];
    if (!chunk || !outs[key(chunk)]) throw new Error(`cannot tell which bundle file holds ${m.names[0]}`);
    const files = closure(key(chunk), new Set(base));
    for (const name of m.names) commands[name] = sourcesOf(files);
  }
  return commands;
}

try {
  const esbuild = await import('esbuild');
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts', commands: 'src/cli/commands.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .sort()
    .map((path) => {
      const abs = join(root, path);
      const st = seen.get(abs) ?? statSync(abs);
      return { path, size: st.size, mtimeMs: st.mtimeMs };
    });
  const commands = await commandInputs(result.metafile);
  // The bundle's own files, so a partly deleted bundle is not used either.
  const files = Object.keys(result.metafile.outputs).map((f) =>
    relative(outdir, join(root, f)).split('\\').join('/'),
  );
  writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify({ inputs, commands, files })}\n`);
  console.log(`CLI bundle: ${relative(root, join(outdir, 'main.js'))} from ${inputs.length} source files`);
} catch (e) {
  rmSync(outdir, { recursive: true, force: true });
  console.warn(`warning: CLI bundle not built (the CLI will compile its sources at start-up): ${e.message}`);
}
