// Decides whether bin/portcullis.js may start from a prebuilt bundle (scripts/build-cli.mjs): the CLI's
// in dist/cli/, the server's (for `serve`) in dist/server/.
import { readFileSync, statSync } from 'node:fs';

/**
 * The URL of the bundle's entry under `root` (a directory URL ending in '/') when `<dir>/inputs.json`
 * is there with every file of the bundle, and every source file the command runs from (all of them for
 * help, --version or a command the list does not know) still has the recorded size and modification
 * time; else undefined (no bundle or part of it gone, a damaged list, or a source changed or gone since
 * the build).
 * @param {URL} root
 * @param {string | undefined} command the top-level command about to run
 * @param {string} [bundleDir] the bundle's directory under `root`, ending in '/'
 * @returns {URL | undefined}
 */
export function freshBundle(root, command, bundleDir = 'dist/cli/') {
  const dir = new URL(bundleDir, root);
  try {
    const { inputs, commands, files } = JSON.parse(readFileSync(new URL('inputs.json', dir), 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0 || !Array.isArray(files)) return undefined;
    for (const file of files) {
      if (typeof file !== 'string' || file.startsWith('/') || file.includes('..')) return undefined;
      statSync(new URL(file, dir));
    }
    const needed =
      command !== undefined && Array.isArray(commands?.[command]) ? commands[command] : undefined;
    const wanted = needed ? new Set(needed) : undefined;
    for (const input of inputs) {
      if (typeof input?.path !== 'string' || input.path.startsWith('/') || input.path.includes('..'))
        return undefined;
      if (wanted && !wanted.has(input.path)) continue;
      const st = statSync(new URL(input.path, root));
      if (st.size !== input.size || st.mtimeMs !== input.mtimeMs) return undefined;
    }
    return new URL('main.js', dir);
  } catch {
    return undefined;
  }
}
