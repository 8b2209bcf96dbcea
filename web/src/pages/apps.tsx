import { useState, type FormEvent } from 'react';
import { del, get, post } from '../api/client.ts';
import { restPath } from '../api/endpoints.ts';
import type { App, Asset, ListEnvelope } from '../api/types.ts';
import {
  ActionError,
  Badge,
  Card,
  DataTable,
  Dialog,
  EmptyState,
  ErrorState,
  Field,
  Loading,
  PageHeader,
} from '../components/ui.tsx';
import { useApi } from '../lib/hooks.ts';
import { useSession } from '../lib/session.tsx';

const isSecret = (name: string, dataType?: string) =>
  dataType === 'password' || /secret|password|token|api_?key/i.test(name);

/** Apps (connectors) and their configured assets. Secret settings can be set, never read back. */
export function AppsPage() {
  const session = useSession();
  const apps = useApi<ListEnvelope<App>>(restPath('app', { pageSize: 0 }));
  const assets = useApi<ListEnvelope<Asset>>(restPath('asset', { pageSize: 0 }));
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState<{ app: App; asset?: Asset } | null>(null);
  const appOf = (a: Asset) =>
    apps.data?.data.find(
      (x) => String(x.id) === String(a.app_id ?? a.app) || x.appid === String(a.app_id ?? a.app),
    );
  return (
    <>
      <PageHeader
        title="Apps & assets"
        subtitle="Connectors playbooks act through, and their configured instances."
      />
      <div className="stack">
        <ActionError error={error} />
        <Card title="Assets">
          {assets.error ? (
            <ErrorState error={assets.error} what="Assets" />
          ) : !assets.data ? (
            <Loading />
          ) : assets.data.data.length === 0 ? (
            <EmptyState title="No assets configured.">
              An asset is an app with its settings (a firewall host, an SMTP server, a webhook URL). Configure
              one from an app below.
            </EmptyState>
          ) : (
            <DataTable
              label="Assets"
              rows={assets.data.data}
              rowKey={(a) => String(a.id)}
              columns={[
                { key: 'name', label: 'Name', render: (a) => <strong>{a.name}</strong> },
                {
                  key: 'app',
                  label: 'App',
                  render: (a) => appOf(a)?.name ?? a.product_name ?? String(a.app_id ?? a.app ?? ''),
                },
                { key: 'description', label: 'Description', render: (a) => a.description ?? '' },
                {
                  key: 'config',
                  label: 'Settings',
                  render: (a) => (
                    <span className="small mono">
                      {[
                        ...Object.entries(a.configuration ?? {}).map(
                          ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
                        ),
                        ...Object.entries(a.secret_configuration ?? {}).map(
                          ([k, v]) => `${k}: ${v === 'set' ? 'secret set' : 'not set'}`,
                        ),
                      ].join('  ')}
                    </span>
                  ),
                },
                {
                  key: 'edit',
                  label: '',
                  render: (a) => {
                    const app = appOf(a);
                    return (
                      <span className="actions">
                        {session.canWork ? <TestConnectivity asset={a} /> : null}
                        {session.isAdmin && app ? (
                          <button
                            type="button"
                            onClick={() => setEditing({ app, asset: a })}
                            aria-label={`Edit asset ${a.name}`}
                          >
                            Edit
                          </button>
                        ) : null}
                        {session.isAdmin ? (
                          <button
                            type="button"
                            className="danger"
                            aria-label={`Delete asset ${a.name}`}
                            onClick={() => {
                              if (window.confirm(`Delete asset "${a.name}" and its stored secrets?`))
                                del(`/rest/asset/${a.id}`).then(assets.reload, setError);
                            }}
                          >
                            Delete
                          </button>
                        ) : null}
                      </span>
                    );
                  },
                },
              ]}
            />
          )}
        </Card>
        <Card title="Apps">
          {apps.error ? (
            <ErrorState error={apps.error} what="Apps" />
          ) : !apps.data ? (
            <Loading />
          ) : apps.data.data.length === 0 ? (
            <EmptyState title="No apps installed." />
          ) : (
            <DataTable
              label="Apps"
              rows={apps.data.data}
              rowKey={(a) => String(a.id)}
              columns={[
                {
                  key: 'name',
                  label: 'App',
                  render: (a) => (
                    <>
                      <strong>{a.name}</strong> <span className="muted small">{a.app_version}</span>
                    </>
                  ),
                },
                {
                  key: 'product',
                  label: 'Product',
                  render: (a) => [a.product_vendor, a.product_name].filter(Boolean).join(' '),
                },
                {
                  key: 'actions',
                  label: 'Actions',
                  render: (a) =>
                    (a.actions ?? []).map((x) => {
                      const n = typeof x === 'string' ? x : x.action;
                      return (
                        <span key={n} className="tag">
                          {n}
                        </span>
                      );
                    }),
                },
                {
                  key: 'add',
                  label: '',
                  render: (a) =>
                    session.isAdmin ? (
                      <button
                        type="button"
                        onClick={() => setEditing({ app: a })}
                        aria-label={`Configure an asset for ${a.name}`}
                      >
                        New asset…
                      </button>
                    ) : null,
                },
              ]}
            />
          )}
        </Card>
      </div>
      {editing ? (
        <AssetDialog
          app={editing.app}
          asset={editing.asset}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            assets.reload();
          }}
        />
      ) : null}
    </>
  );
}

function AssetDialog(props: { app: App; asset?: Asset; onClose: () => void; onSaved: () => void }) {
  const fields = Object.entries(props.app.configuration ?? {}).sort(
    (a, b) => (a[1].order ?? 0) - (b[1].order ?? 0),
  );
  const [name, setName] = useState(props.asset?.name ?? '');
  const [description, setDescription] = useState(props.asset?.description ?? '');
  const [values, setValues] = useState<Record<string, string>>(() => {
    const v: Record<string, string> = {};
    for (const [k, spec] of fields) {
      // Secrets are write-only: the form never shows them, an empty field keeps the stored one.
      if (isSecret(k, spec.data_type)) v[k] = '';
      else
        v[k] =
          props.asset?.configuration?.[k] !== undefined
            ? String(props.asset.configuration[k])
            : spec.default !== undefined
              ? String(spec.default)
              : '';
    }
    return v;
  });
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const configuration: Record<string, unknown> = {};
    for (const [k, spec] of fields) {
      const v = values[k] ?? '';
      if (isSecret(k, spec.data_type) && v === '') continue;
      if (v === '') continue;
      configuration[k] =
        spec.data_type === 'numeric' ? Number(v) : spec.data_type === 'boolean' ? v === 'true' : v;
    }
    try {
      const body = {
        name,
        description,
        app_id: props.app.appid ?? props.app.id,
        product_name: props.app.product_name,
        configuration,
      };
      await post(props.asset ? `/rest/asset/${props.asset.id}` : '/rest/asset', body);
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog
      open
      title={props.asset ? `Edit asset ${props.asset.name}` : `New ${props.app.name} asset`}
      onClose={props.onClose}
    >
      <form onSubmit={submit}>
        <Field label="Asset name">
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={Boolean(props.asset)}
          />
        </Field>
        <Field label="Description">
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        {fields.map(([k, spec]) => {
          const secret = isSecret(k, spec.data_type);
          return (
            <Field
              key={k}
              label={`${k}${spec.required ? ' (required)' : ''}`}
              hint={[
                spec.description,
                secret
                  ? props.asset
                    ? 'Write-only: leave empty to keep the stored value.'
                    : 'Write-only: stored encrypted, never shown again.'
                  : '',
              ]
                .filter(Boolean)
                .join(' ')}
            >
              {spec.data_type === 'boolean' ? (
                <select value={values[k]} onChange={(e) => setValues({ ...values, [k]: e.target.value })}>
                  <option value="">default</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : (
                <input
                  type={secret ? 'password' : spec.data_type === 'numeric' ? 'number' : 'text'}
                  autoComplete={secret ? 'new-password' : 'off'}
                  required={spec.required && !(secret && props.asset)}
                  value={values[k]}
                  placeholder={secret && props.asset ? '•••••• (unchanged)' : ''}
                  onChange={(e) => setValues({ ...values, [k]: e.target.value })}
                />
              )}
            </Field>
          );
        })}
        <ActionError error={error} />
        <div className="actions">
          <button type="submit" className="primary">
            Save asset
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Runs the app's `test connectivity` action on one asset and shows how it ended. */
function TestConnectivity(props: { asset: Asset }) {
  const [state, setState] = useState<{ status: string; message?: string | null } | null>(null);
  const run = async () => {
    setState({ status: 'running' });
    try {
      const r = await post<{ action_run_id: number }>('/rest/action_run', {
        action: 'test connectivity',
        name: 'test_connectivity',
        type: 'test',
        targets: [{ assets: [props.asset.name] }],
      });
      for (let i = 0; i < 60; i++) {
        const run = await get<{ status: string; message?: string | null }>(
          `/rest/action_run/${r.action_run_id}`,
        );
        if (run.status !== 'pending' && run.status !== 'running') {
          setState(run);
          return;
        }
        await new Promise((res) => setTimeout(res, 1000));
      }
      setState({ status: 'running', message: 'still running: see the action runs' });
    } catch (e) {
      setState({ status: 'failed', message: (e as Error).message });
    }
  };
  return (
    <>
      <button
        type="button"
        onClick={() => void run()}
        disabled={state?.status === 'running'}
        aria-label={`Test connectivity of ${props.asset.name}`}
      >
        Test
      </button>
      {state ? (
        <span className="small" role="status">
          <Badge value={state.status} /> {state.message ?? ''}
        </span>
      ) : null}
    </>
  );
}
