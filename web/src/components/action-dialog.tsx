import { useMemo, useState, type FormEvent } from 'react';
import { post } from '../api/client.ts';
import { restPath } from '../api/endpoints.ts';
import type { App, AppAction, Artifact, Asset, ListEnvelope } from '../api/types.ts';
import { useApi } from '../lib/hooks.ts';
import { ActionError, Dialog, ErrorState, Field, Loading } from './ui.tsx';

// CEF fields that fill an action parameter of a given `contains` type.
const CEF_FOR: Record<string, string[]> = {
  ip: ['destinationAddress', 'sourceAddress'],
  'host name': ['destinationHostName', 'destinationAddress'],
  port: ['destinationPort'],
  url: ['requestURL'],
  domain: ['destinationDnsDomain', 'destinationHostName'],
};

function suggest(contains: string[] | undefined, artifacts: Artifact[]): string {
  for (const c of contains ?? [])
    for (const field of CEF_FOR[c] ?? [])
      for (const a of artifacts) {
        const v = a.cef[field];
        if (v !== undefined && v !== null && v !== '') return String(v);
      }
  return '';
}

/** Runs one app action on a container: pick the action and asset; parameters are prefilled from artifacts. */
export function RunActionDialog(props: {
  containerId: number;
  artifacts: Artifact[];
  onClose: () => void;
  onStarted: () => void;
}) {
  const apps = useApi<ListEnvelope<App>>(restPath('app', { pageSize: 0 }));
  const assets = useApi<ListEnvelope<Asset>>(restPath('asset', { pageSize: 0 }));
  const choices = useMemo(
    () =>
      (apps.data?.data ?? []).flatMap((app) =>
        (app.actions ?? [])
          .filter((a): a is AppAction => typeof a !== 'string' && a.action !== 'test connectivity')
          .map((a) => ({ key: `${app.appid ?? app.id}|${a.action}`, app, action: a })),
      ),
    [apps.data],
  );
  const [key, setKey] = useState('');
  const chosen = choices.find((c) => c.key === key);
  const appAssets = (assets.data?.data ?? []).filter(
    (a) => chosen && String(a.app_id) === String(chosen.app.appid ?? chosen.app.id),
  );
  const [asset, setAsset] = useState('');
  const [params, setParams] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const pick = (k: string) => {
    setKey(k);
    setAsset('');
    const c = choices.find((x) => x.key === k);
    const p: Record<string, string> = {};
    for (const [name, spec] of Object.entries(c?.action.parameters ?? {}))
      p[name] =
        suggest(spec.contains, props.artifacts) || (spec.default !== undefined ? String(spec.default) : '');
    setParams(p);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setError(undefined);
    const parameters: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(chosen.action.parameters ?? {})) {
      const v = params[name] ?? '';
      if (v === '') continue;
      parameters[name] =
        spec.data_type === 'numeric' ? Number(v) : spec.data_type === 'boolean' ? v === 'true' : v;
    }
    try {
      await post('/rest/action_run', {
        action: chosen.action.action,
        container_id: props.containerId,
        name: `${chosen.action.action.replace(/\s+/g, '_')}_manual`,
        ...(chosen.action.type ? { type: chosen.action.type } : {}),
        targets: [
          {
            app_id: chosen.app.appid ?? chosen.app.id,
            ...(asset ? { assets: [asset] } : {}),
            parameters: [parameters],
          },
        ],
      });
      props.onStarted();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog open title="Run an action" onClose={props.onClose}>
      {apps.error ? (
        <ErrorState error={apps.error} what="Apps" />
      ) : !apps.data || !assets.data ? (
        <Loading />
      ) : (
        <form onSubmit={submit}>
          <Field label="Action">
            <select required value={key} onChange={(e) => pick(e.target.value)}>
              <option value="">choose…</option>
              {choices.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.action.action} ({c.app.name})
                </option>
              ))}
            </select>
          </Field>
          {chosen ? (
            <>
              {chosen.action.description ? <p className="muted small">{chosen.action.description}</p> : null}
              <Field
                label="Asset"
                hint={
                  appAssets.length === 0
                    ? 'No asset configured for this app: it runs with its defaults if it needs none.'
                    : undefined
                }
              >
                <select value={asset} onChange={(e) => setAsset(e.target.value)}>
                  <option value="">{appAssets.length ? 'every asset of the app' : 'none'}</option>
                  {appAssets.map((a) => (
                    <option key={a.id} value={a.name}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </Field>
              {Object.entries(chosen.action.parameters ?? {})
                .sort((a, b) => (a[1].order ?? 0) - (b[1].order ?? 0))
                .map(([name, spec]) => (
                  <Field
                    key={name}
                    label={`${name}${spec.required ? ' (required)' : ''}`}
                    hint={spec.description}
                  >
                    {spec.value_list?.length ? (
                      <select
                        value={params[name] ?? ''}
                        required={spec.required}
                        onChange={(e) => setParams({ ...params, [name]: e.target.value })}
                      >
                        <option value="" />
                        {spec.value_list.map((v) => (
                          <option key={v}>{v}</option>
                        ))}
                      </select>
                    ) : (
                      <input
                        type={spec.data_type === 'numeric' ? 'number' : 'text'}
                        required={spec.required}
                        value={params[name] ?? ''}
                        onChange={(e) => setParams({ ...params, [name]: e.target.value })}
                      />
                    )}
                  </Field>
                ))}
            </>
          ) : null}
          <ActionError error={error} />
          <div className="actions">
            <button type="submit" className="primary" disabled={!chosen}>
              Run action
            </button>
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
