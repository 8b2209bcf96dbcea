// Decides whether bin/portcullis.js may start from the prebuilt CLI bundle (scripts/build-cli.mjs).
import { readFileSync, statSync } from 'node:fs';

/**
 * The URL of the bundle's entry under `root` (a directory URL ending in '/') when dist/cli/inputs.json
 * is there and every source file it lists still has the recorded size and modification time; else
 * undefined (no bundle, a damaged list, or a source changed or gone since the build).
 * @param {URL} root
 * @returns {URL | undefined}
 */
export function freshBundle(root) {
  const dir = new URL('dist/cli/', root);
  try {
    const { inputs } = JSON.parse(readFileSync(new URL('inputs.json', dir), 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
    for (const input of inputs) {
      if (typeof input?.path !== 'string' || input.path.startsWith('/') || input.path.includes('..'))
        return undefined;
      const st = statSync(new URL(input.path, root));
      if (st.size !== input.size || st.mtimeMs !== input.mtimeMs) return undefined;
    }
    return new URL('main.js', dir);
  } catch {
    return undefined;
  }
}
