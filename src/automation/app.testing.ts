import { createLogger } from '../logging/index.ts';
import { compileScope } from '../scan/scope.ts';
import { createHttpClient, parseAllowlist } from './app.http.ts';
import { checkParameters, findAction } from './app.registry.ts';
import type { ActionOutcome, AppDefinition } from './app.types.ts';

/**
 * Runs one action of an app the way the engine does (parameters checked against the manifest,
 * configuration defaults filled in, HTTP confined to `allowed_destinations`), for app tests.
 */
export async function runAppAction(
  app: AppDefinition,
  action: string,
  params: Record<string, unknown> = {},
  asset: Record<string, unknown> = {},
  opts: { signal?: AbortSignal; containerId?: number | null; scanScopes?: string[] } = {},
): Promise<ActionOutcome> {
  const a = findAction(app.manifest, action);
  if (!a) throw new Error(`no action ${action}`);
  const cfg: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(app.manifest.configuration))
    if (f.default !== undefined) cfg[k] = f.default;
  Object.assign(cfg, asset);
  const signal = opts.signal ?? new AbortController().signal;
  // Tests may probe only loopback unless they name the namespaces they made.
  const scope = compileScope(
    (opts.scanScopes ?? ['127.0.0.0/8', '::1/128']).map((cidr) => ({ kind: 'allow' as const, cidr })),
  );
  return app.execute(
    {
      action: a.identifier,
      asset: cfg,
      assetName: 'test',
      containerId: opts.containerId ?? null,
      logger: createLogger('silent'),
      signal,
      http: createHttpClient(parseAllowlist(cfg.allowed_destinations), signal),
      scanRefusal: async (address) => (scope.allows(address) ? null : scope.explain(address)),
      vaultPut: async () => {
        throw new Error('no vault in app tests');
      },
    },
    checkParameters(a, params, 'test'),
  );
}
