import { useState, type FormEvent } from 'react';
import { createToken, revokeToken } from '../api/endpoints.ts';
import type { Token } from '../api/types.ts';
import { fmtAgo, fmtTime } from '../components/format.ts';
import { ActionError, Badge, DataTable, EmptyState, Field } from '../components/ui.tsx';

/** A token list with revoke buttons; used for API tokens (admin page) and HEC tokens (imports page). */
export function TokenTable(props: { tokens: Token[]; onChanged: () => void; canRevoke: boolean }) {
  const [error, setError] = useState<unknown>();
  if (props.tokens.length === 0)
    return (
      <div style={{ marginTop: 12 }}>
        <EmptyState title="No tokens yet.">
          Create one above; it is shown once, so copy it into the sender's configuration.
        </EmptyState>
      </div>
    );
  return (
    <>
      <ActionError error={error} />
      <div style={{ height: 12 }} />
      <DataTable
        label="Tokens"
        rows={props.tokens}
        rowKey={(t) => String(t.id)}
        columns={[
          { key: 'name', label: 'Name', render: (t) => t.name },
          { key: 'kind', label: 'Kind', render: (t) => <span className="tag">{t.kind}</span> },
          { key: 'prefix', label: 'Starts with', render: (t) => <code>{t.prefix}…</code> },
          { key: 'user', label: 'User', render: (t) => t.username ?? t.user_id ?? '—' },
          { key: 'created', label: 'Created', render: (t) => fmtTime(t.created_at) },
          { key: 'used', label: 'Last used', render: (t) => fmtAgo(t.last_used_at) },
          {
            key: 'expires',
            label: 'Expires',
            render: (t) => (t.expires_at ? fmtTime(t.expires_at) : 'never'),
          },
          {
            key: 'state',
            label: 'State',
            render: (t) =>
              t.revoked_at ? (
                <Badge value="cancelled" label="revoked" />
              ) : t.expires_at && new Date(t.expires_at) < new Date() ? (
                <Badge value="expired" />
              ) : (
                <Badge value="success" label="active" />
              ),
          },
          {
            key: 'revoke',
            label: '',
            render: (t) =>
              props.canRevoke && !t.revoked_at ? (
                <button
                  type="button"
                  className="danger"
                  aria-label={`Revoke token ${t.name}`}
                  onClick={() => {
                    if (window.confirm(`Revoke token "${t.name}"? Anything using it stops working at once.`))
                      revokeToken(t.id).then(props.onChanged, setError);
                  }}
                >
                  Revoke
                </button>
              ) : null,
          },
        ]}
      />
    </>
  );
}

/** Creates a token and shows it once. */
export function NewTokenForm(props: { kind: 'api' | 'hec'; users?: string[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [user, setUser] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<string>();
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await createToken({
        name,
        kind: props.kind,
        ...(user ? { user } : {}),
        ...(expires ? { expires_in: expires } : {}),
      });
      setCreated(r.token);
      setName('');
      props.onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <form
        className="inline-form"
        onSubmit={submit}
        aria-label={props.kind === 'hec' ? 'New HEC token' : 'New API token'}
      >
        <Field label="Token name">
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder={props.kind === 'hec' ? 'stream-forwarder' : 'soar-script'}
          />
        </Field>
        {props.users ? (
          <Field label="For user">
            <select value={user} onChange={(e) => setUser(e.target.value)}>
              <option value="">me</option>
              {props.users.map((u) => (
                <option key={u}>{u}</option>
              ))}
            </select>
          </Field>
        ) : null}
        <Field label="Expires after">
          <select value={expires} onChange={(e) => setExpires(e.target.value)}>
            <option value="">never</option>
            <option value="24h">1 day</option>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="365d">1 year</option>
          </select>
        </Field>
        <button type="submit" className="primary">
          Create {props.kind === 'hec' ? 'HEC' : 'API'} token
        </button>
      </form>
      <ActionError error={error} />
      {created ? (
        <div className="success" role="status">
          <p>
            <strong>Copy this token now: it is shown only once.</strong>
          </p>
          <div className="secret" aria-label="New token">
            {created}
          </div>
          {props.kind === 'hec' ? (
            <p className="small">
              Send events with <code>Authorization: Splunk {'<token>'}</code> to{' '}
              <code>{location.origin}/services/collector/event</code>.
            </p>
          ) : null}
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      ) : null}
    </>
  );
}
