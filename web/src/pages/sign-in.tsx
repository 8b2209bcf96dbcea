import { useState, type FormEvent } from 'react';
import { ApiError, get, post, setCsrfToken, setToken } from '../api/client.ts';
import { Field } from '../components/ui.tsx';

/** Password sign-in (session cookie), or an API token kept for this tab only. */
export function SignInPage(props: { onSignedIn: () => void }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [token, setTok] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'password') {
        setToken(null);
        const r = await post<{ csrf_token?: string }>(
          '/api/login',
          { username, password, ...(totp ? { totp } : {}) },
          { quiet401: true },
        );
        setCsrfToken(r?.csrf_token);
      } else {
        setToken(token.trim());
        await get('/api/me', { quiet401: true });
      }
      props.onSignedIn();
    } catch (err) {
      if (mode === 'token') setToken(null);
      const e2 = err as ApiError;
      if (e2 instanceof ApiError && /totp/i.test(e2.code + e2.message) && !needTotp) {
        setNeedTotp(true);
        setError('Enter the 6-digit code from your authenticator app.');
      } else if (e2 instanceof ApiError && e2.status === 401) {
        setError(
          mode === 'password'
            ? 'Wrong user name or password.'
            : 'That token is not valid (unknown, expired or revoked).',
        );
      } else setError(e2.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <div className="card">
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Portcullis
        </h1>
        <p className="muted">Sign in to the network exposure console.</p>
        <div className="tabs" role="tablist" aria-label="Sign-in method">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'password'}
            onClick={() => setMode('password')}
          >
            Password
          </button>
          <button type="button" role="tab" aria-selected={mode === 'token'} onClick={() => setMode('token')}>
            API token
          </button>
        </div>
        <form onSubmit={submit} aria-label="Sign in">
          {mode === 'password' ? (
            <>
              <Field label="User name">
                <input
                  name="username"
                  autoComplete="username"
                  required
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                  autoFocus
                />
              </Field>
              <Field label="Password">
                <input
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              </Field>
              {needTotp ? (
                <Field label="Authenticator code">
                  <input
                    name="totp"
                    inputMode="numeric"
                    autoComplete="one-time-code"
                    value={totp}
                    onChange={(e) => setTotp(e.target.value)}
                  />
                </Field>
              ) : null}
            </>
          ) : (
            <Field
              label="API token"
              hint={
                <>
                  A fresh server's admin token is in <code>&lt;data dir&gt;/admin-token</code>. It is kept for
                  this tab only; set a password under Users &amp; tokens to sign in with one.
                </>
              }
            >
              <input
                name="token"
                type="password"
                autoComplete="off"
                required
                value={token}
                onChange={(e) => setTok(e.target.value)}
              />
            </Field>
          )}
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
