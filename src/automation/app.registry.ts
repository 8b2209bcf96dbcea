import { readFileSync } from 'node:fs';
import { AppError, badRequest, notFound } from '../util/errors.ts';
import { parseAppManifest, type AppActionManifest, type AppManifest } from './app.manifest.ts';
import type { ActionContext, ActionOutcome, AppDefinition } from './app.types.ts';

/** The apps this process can run, by appid; built-in apps are registered at start. */
export class AppRegistry {
  readonly #apps = new Map<string, AppDefinition>();

  register(app: AppDefinition): void {
    const m = parseAppManifest(app.manifest, `app ${app.manifest?.name ?? '?'}`);
    if (this.#apps.has(m.appid))
      throw new AppError('duplicate_app', `app ${m.appid} is registered twice`, { kind: 'bug' });
    this.#apps.set(m.appid, { manifest: m, execute: app.execute });
  }

  list(): AppDefinition[] {
    return [...this.#apps.values()];
  }

  get(appid: string): AppDefinition | undefined {
    return this.#apps.get(appid);
  }

  /** An app by appid, or by its name (case-insensitive), or by `product_vendor`/`product_name`. */
  find(ref: {
    appid?: string | undefined;
    name?: string | undefined;
    product_vendor?: string | undefined;
    product_name?: string | undefined;
  }): AppDefinition {
    if (ref.appid) {
      const a = this.#apps.get(ref.appid);
      if (a) return a;
      throw notFound(`app ${ref.appid}`);
    }
    const byName = ref.name?.toLowerCase();
    for (const a of this.#apps.values()) {
      if (byName && a.manifest.name.toLowerCase() === byName) return a;
      if (
        ref.product_vendor &&
        ref.product_name &&
        a.manifest.product_vendor.toLowerCase() === ref.product_vendor.toLowerCase() &&
        a.manifest.product_name.toLowerCase() === ref.product_name.toLowerCase()
      )
        return a;
    }
    throw notFound(`app ${ref.name ?? `${ref.product_vendor}/${ref.product_name}`}`);
  }

  /** Apps that offer an action, by its name (`block port`) or identifier (`block_port`). */
  appsWithAction(action: string): AppDefinition[] {
    return this.list().filter((a) => findAction(a.manifest, action));
  }
}

/** An action of a manifest by name or identifier. */
export function findAction(m: AppManifest, action: string): AppActionManifest | undefined {
  const a = action.toLowerCase();
  return m.actions.find((x) => x.action.toLowerCase() === a || x.identifier === a);
}

/**
 * Checks and coerces an action's parameters against the manifest: required ones present, numbers
 * numeric, booleans boolean, defaults filled in; unknown parameters are refused.
 */
export function checkParameters(
  action: AppActionManifest,
  params: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(params))
    if (!(key in action.parameters))
      throw badRequest(`${where}: unknown parameter "${key}" for action "${action.action}"`);
  for (const [key, p] of Object.entries(action.parameters)) {
    let v = params[key];
    if ((v === undefined || v === null || v === '') && p.default !== undefined) v = p.default;
    if (v === undefined || v === null || v === '') {
      if (p.required)
        throw badRequest(`${where}: parameter "${key}" is required for action "${action.action}"`);
      continue;
    }
    if (p.data_type === 'numeric') {
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n))
        throw badRequest(`${where}: parameter "${key}" must be numeric, got ${JSON.stringify(v)}`);
      v = n;
    } else if (p.data_type === 'boolean') {
      if (typeof v === 'string' && /^(true|false)$/i.test(v)) v = v.toLowerCase() === 'true';
      if (typeof v !== 'boolean') throw badRequest(`${where}: parameter "${key}" must be true or false`);
    } else if (typeof v !== 'string') {
      if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
      else throw badRequest(`${where}: parameter "${key}" must be a string`);
    }
    if (p.value_list && !p.value_list.includes(String(v)))
      throw badRequest(`${where}: parameter "${key}" must be one of ${p.value_list.join(', ')}`);
    out[key] = v;
  }
  return out;
}

/** Loads a manifest JSON file beside an app's code and validates it. */
export function loadManifest(url: URL): AppManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(url, 'utf8'));
  } catch (e) {
    throw new AppError('invalid_manifest', `${url.pathname}: ${(e as Error).message}`, { kind: 'bug' });
  }
  return parseAppManifest(parsed, url.pathname);
}

/** Helper for apps: a failed outcome with a message. */
export function failed(message: string, data: unknown[] = []): ActionOutcome {
  return { status: 'failed', message, data };
}

export type { ActionContext, ActionOutcome, AppDefinition };
