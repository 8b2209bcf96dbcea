import { useState, type FormEvent } from 'react';
import { del, post, put } from '../api/client.ts';
import { createUser, patchUser } from '../api/endpoints.ts';
import type { Token, User } from '../api/types.ts';
import { fmtAgo, fmtTime } from '../components/format.ts';
import {
  ActionError,
  Badge,
  Card,
  DataTable,
  ErrorState,
  Field,
  Loading,
  PageHeader,
} from '../components/ui.tsx';
import { useApi } from '../lib/hooks.ts';
import { useSession } from '../lib/session.tsx';
import { AccountCard } from './account.tsx';
import { NewTokenForm, TokenTable } from './tokens.tsx';

const ROLES = ['admin', 'analyst', 'observer', 'automation'];
type Rows<T> = { data: T[] } | T[];
const rowsOf = <T,>(d: Rows<T> | undefined): T[] => (!d ? [] : Array.isArray(d) ? d : d.data);

/** Users (admins) and API tokens (everyone sees their own; admins see all). */
export function AdminPage() {
  const session = useSession();
  const users = useApi<Rows<User>>(session.isAdmin ? '/api/users' : null);
  const tokens = useApi<Rows<Token>>('/api/tokens');
  const [error, setError] = useState<unknown>();
  const [pwFor, setPwFor] = useState<string | null>(null);
  return (
    <>
      <PageHeader
        title="Users & tokens"
        subtitle={session.isAdmin ? 'Accounts, roles and API tokens.' : 'Your API tokens.'}
      />
      <div className="stack">
        <AccountCard />
        {session.isAdmin ? (
          <Card title="Users">
            {users.error ? (
              <ErrorState error={users.error} what="Users" />
            ) : !users.data ? (
              <Loading />
            ) : (
              <>
                <ActionError error={error} />
                <DataTable
                  label="Users"
                  rows={rowsOf(users.data)}
                  rowKey={(u) => String(u.id)}
                  columns={[
                    { key: 'username', label: 'User', render: (u) => <strong>{u.username}</strong> },
                    {
                      key: 'role',
                      label: 'Role',
                      render: (u) => (
                        <select
                          aria-label={`Role of ${u.username}`}
                          value={u.role}
                          disabled={u.username === session.me.username}
                          onChange={(e) =>
                            patchUser(u.username, { role: e.target.value }).then(users.reload, setError)
                          }
                        >
                          {ROLES.map((r) => (
                            <option key={r}>{r}</option>
                          ))}
                        </select>
                      ),
                    },
                    {
                      key: 'state',
                      label: 'State',
                      render: (u) =>
                        u.disabled ? (
                          <Badge value="cancelled" label="disabled" />
                        ) : (
                          <Badge value="success" label="active" />
                        ),
                    },
                    { key: 'totp', label: '2FA', render: (u) => (u.totp_enabled ? 'TOTP' : '—') },
                    { key: 'created', label: 'Created', render: (u) => fmtTime(u.created_at) },
                    { key: 'login', label: 'Last sign-in', render: (u) => fmtAgo(u.last_login_at) },
                    {
                      key: 'actions',
                      label: '',
                      render: (u) =>
                        u.username === session.me.username ? (
                          <button type="button" onClick={() => setPwFor(u.username)}>
                            Set password…
                          </button>
                        ) : (
                          <span className="actions">
                            <button type="button" onClick={() => setPwFor(u.username)}>
                              Set password…
                            </button>
                            <button
                              type="button"
                              onClick={() =>
                                patchUser(u.username, { disabled: !u.disabled }).then(users.reload, setError)
                              }
                            >
                              {u.disabled ? 'Enable' : 'Disable'}
                            </button>
                            <button
                              type="button"
                              aria-label={`Unlock ${u.username} after failed logins`}
                              onClick={() =>
                                patchUser(u.username, { unlock: true }).then(users.reload, setError)
                              }
                            >
                              Unlock
                            </button>
                            <button
                              type="button"
                              aria-label={`Sign ${u.username} out everywhere`}
                              onClick={() =>
                                post(`/api/users/${encodeURIComponent(u.username)}/logout`).then(
                                  users.reload,
                                  setError,
                                )
                              }
                            >
                              Sign out everywhere
                            </button>
                            <button
                              type="button"
                              className="danger"
                              aria-label={`Delete user ${u.username}`}
                              onClick={() => {
                                if (window.confirm(`Delete user "${u.username}"? Their tokens stop working.`))
                                  del(`/api/users/${encodeURIComponent(u.username)}`).then(
                                    users.reload,
                                    setError,
                                  );
                              }}
                            >
                              Delete
                            </button>
                          </span>
                        ),
                    },
                  ]}
                />
                {pwFor ? <PasswordForm user={pwFor} onDone={() => setPwFor(null)} /> : null}
                <NewUserForm onCreated={users.reload} />
              </>
            )}
          </Card>
        ) : null}
        <Card title="API tokens">
          <NewTokenForm
            kind="api"
            users={session.isAdmin ? rowsOf(users.data).map((u) => u.username) : undefined}
            onCreated={tokens.reload}
          />
          {tokens.error ? (
            <ErrorState error={tokens.error} what="Tokens" />
          ) : !tokens.data ? (
            <Loading />
          ) : (
            <TokenTable tokens={rowsOf(tokens.data)} onChanged={tokens.reload} canRevoke />
          )}
        </Card>
      </div>
    </>
  );
}

function NewUserForm(props: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState('analyst');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await createUser({ username, role, ...(password ? { password } : {}) });
      setUsername('');
      setPassword('');
      props.onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add a user" style={{ marginTop: 12 }}>
      <Field label="User name">
        <input required value={username} onChange={(e) => setUsername(e.target.value)} />
      </Field>
      <Field label="Role">
        <select value={role} onChange={(e) => setRole(e.target.value)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </Field>
      <Field label="Initial password">
        <input
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder="none: token-only user"
        />
      </Field>
      <button type="submit">Add user</button>
      <ActionError error={error} />
    </form>
  );
}

function PasswordForm(props: { user: string; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [ok, setOk] = useState(false);
  return (
    <form
      className="inline-form"
      aria-label={`Set the password of ${props.user}`}
      style={{ marginTop: 12 }}
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await put(`/api/users/${encodeURIComponent(props.user)}/password`, { password });
          setOk(true);
          setPassword('');
        } catch (err) {
          setError(err);
        }
      }}
    >
      <Field label={`New password for ${props.user}`}>
        <input
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <button type="submit" className="primary">
        Set password
      </button>
      <button type="button" onClick={props.onDone}>
        Close
      </button>
      {ok ? <span className="success">Password set; the user's other sessions were signed out.</span> : null}
      <ActionError error={error} />
    </form>
  );
}
