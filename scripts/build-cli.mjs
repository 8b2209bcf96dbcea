// Bundles the command line (src/cli/main.ts and the command modules it loads lazily) into plain
// JavaScript under dist/cli/, so short commands start without compiling TypeScript at run time (tsx
// costs a loader thread and a compile per module: most of a short command's start-up), and the same
// command line with the server inside under dist/server/, which `serve` starts from: without tsx's
// loader thread and its compiled modules the server's resident memory is about 70 MB smaller.
// bin/portcullis.js uses a bundle only while every source file it was built from is unchanged
// (inputs.json records their sizes and modification times) and falls back to tsx otherwise: stale
// code never runs. Runs at `npm ci` (the prepare script); a failure here only costs start-up time and
// memory, so it warns instead of failing the install.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// --outdir DIR / --server-outdir DIR build elsewhere (tests), and then only the bundles named;
// bin/portcullis.js only looks at dist/cli and dist/server.
const argOf = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? resolve(process.argv[i + 1]) : undefined;
};
const elsewhere = argOf('--outdir') !== undefined || argOf('--server-outdir') !== undefined;
const cliOutdir = elsewhere ? argOf('--outdir') : join(root, 'dist', 'cli');
const serverOutdir = elsewhere ? argOf('--server-outdir') : join(root, 'dist', 'server');

/**
 * Keeps `import.meta.url` pointing at the source file, so files found relative to it still are (the
 * scanner's worker script and the native module it loads, the apps' manifests, the store's initdb
 * script, the web console's sources and build, package.json); records each source's size and
 * modification time, taken before reading it (a later edit shows), into `seen`. With `withServer`
 * false the server stays out of the bundle: `main.ts` then imports it from the sources, which only
 * `serve` does, and `serve` starts from the server bundle or from the sources, never from this one.
 */
function sourceUrls(outdir, seen, withServer) {
  return {
    name: 'source-import-meta-url',
    setup(build) {
      if (!withServer)
        build.onResolve({ filter: /^\.\.\/(app|config\/index|logging\/index)\.ts$/ }, (args) =>
          args.importer.endsWith(join('src', 'cli', 'main.ts'))
            ? { path: args.path, external: true }
            : undefined,
        );
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const st = statSync(args.path);
        seen.set(args.path, { size: st.size, mtimeMs: st.mtimeMs });
        const text = readFileSync(args.path, 'utf8');
        if (/import\.meta\.(?!url\b)/.test(text))
          throw new Error(
            `${relative(root, args.path)} uses import.meta beyond .url; a bundle cannot keep it`,
          );
        const rel = relative(outdir, args.path).split('\\').join('/');
        return {
          contents: text.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
          ),
          loader: 'ts',
        };
      });
    },
  };
}

/**
 * For each top-level command, the sources of the bundle files it runs: main.js and what it imports,
 * plus the command module's chunk and what that imports. A change elsewhere (say in the ingest
 * parsers) then leaves `portcullis scan` on the bundle.
 */
async function commandInputs(metafile, outdir) {
  const outs = metafile.outputs;
  const key = (file) => relative(root, join(outdir, file)).split('\\').join('/');
  const closure = (start, into = new Set()) => {
    if (into.has(start) || !outs[start]) return into;
    into.add(start);
    for (const i of outs[start].imports) if (i.kind === 'import-statement') closure(i.path, into);
    return into;
  };
  const base = closure(key('main.js'));
  const { COMMAND_MODULES } = await import(pathToFileURL(join(outdir, 'commands.js')).href);
  const commands = {};
  for (const m of COMMAND_MODULES) {
    // load() is `async () => (await import("./chunk.js")).register…`: the chunk it names is the module
    const chunk = /import\(\s*["']\.\/([^"']+)["']\s*\)/.exec(m.load.toString())?.[1];
    if (!chunk || !outs[key(chunk)]) throw new Error(`cannot tell which bundle file holds ${m.names[0]}`);
    const files = closure(key(chunk), new Set(base));
    for (const name of m.names) commands[name] = sourcesOf(outs, files);
  }
  return commands;
}

/**
 * The sources `serve` runs in the server bundle: everything main.js reaches through static and
 * dynamic imports (the server loads parts of itself lazily), except the command modules that
 * src/cli/commands.ts loads for the other commands.
 */
async function serveInputs(metafile, outdir) {
  const outs = metafile.outputs;
  const key = (file) => relative(root, join(outdir, file)).split('\\').join('/');
  const registry = Object.keys(outs).find((f) => 'src/cli/commands.ts' in outs[f].inputs);
  const { COMMAND_MODULES } = await import(pathToFileURL(join(outdir, 'commands.js')).href);
  const commandChunks = new Set(
    COMMAND_MODULES.map((m) =>
      key(/import\(\s*["']\.\/([^"']+)["']\s*\)/.exec(m.load.toString())?.[1] ?? ''),
    ),
  );
  const into = new Set();
  const visit = (file) => {
    if (into.has(file) || !outs[file]) return;
    into.add(file);
    for (const i of outs[file].imports)
      if (i.kind === 'import-statement' || i.kind === 'dynamic-import')
        if (!(file === registry && i.kind === 'dynamic-import' && commandChunks.has(i.path))) visit(i.path);
  };
  visit(key('main.js'));
  return { serve: sourcesOf(outs, into) };
}

function sourcesOf(outs, files) {
  return [...new Set([...files].flatMap((f) => Object.keys(outs[f].inputs)))].sort();
}

/** Builds one bundle of src/cli/main.ts into `outdir` with its inputs.json. */
async function buildBundle(esbuild, outdir, withServer) {
  const seen = new Map();
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
    plugins: [sourceUrls(outdir, seen, withServer)],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .sort()
    .map((path) => {
      const abs = join(root, path);
      const st = seen.get(abs) ?? statSync(abs);
      return { path, size: st.size, mtimeMs: st.mtimeMs };
    });
  const commands = withServer
    ? await serveInputs(result.metafile, outdir)
    : await commandInputs(result.metafile, outdir);
  // The bundle's own files, so a partly deleted bundle is not used either.
  const files = Object.keys(result.metafile.outputs).map((f) =>
    relative(outdir, join(root, f)).split('\\').join('/'),
  );
  writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify({ inputs, commands, files })}\n`);
  return inputs.length;
}

for (const [outdir, withServer, what, without] of [
  [cliOutdir, false, 'CLI bundle', 'the CLI will compile its sources at start-up'],
  [serverOutdir, true, 'Server bundle', '`serve` will compile its sources at start-up and use more memory'],
]) {
  if (!outdir) continue;
  try {
    const esbuild = await import('esbuild');
    const n = await buildBundle(esbuild, outdir, withServer);
    console.log(`${what}: ${relative(root, join(outdir, 'main.js'))} from ${n} source files`);
  } catch (e) {
    rmSync(outdir, { recursive: true, force: true });
    console.warn(`warning: ${what} not built (${without}): ${e.message}`);
  }
}
