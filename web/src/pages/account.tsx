import { useState, type FormEvent } from 'react';
import { del, post } from '../api/client.ts';
import { ActionError, Card, Field } from '../components/ui.tsx';
import { useSession } from '../lib/session.tsx';

/** The signed-in user's own account: password and TOTP second factor. */
export function AccountCard() {
  const session = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<unknown>();
  const changePassword = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(undefined);
    try {
      await post('/api/me/password', { current_password: current, new_password: next });
      setCurrent('');
      setNext('');
      setDone('Password changed; your other sessions were signed out.');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={`Your account (${session.me.username})`}>
      <div className="grid two">
        <form onSubmit={changePassword} aria-label="Change your password">
          <Field label="Current password" hint="Empty if your account has none yet (token-only).">
            <input
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          </Field>
          <Field label="New password">
            <input
              type="password"
              autoComplete="new-password"
              required
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
          </Field>
          <button type="submit">Change password</button>
          <ActionError error={error} />
          {done ? (
            <p className="success" role="status">
              {done}
            </p>
          ) : null}
        </form>
        <TotpSetup enabled={Boolean(session.me.totp_enabled)} onChanged={session.refresh} />
      </div>
    </Card>
  );
}

/** Turns on a TOTP second factor: shows the secret, then confirms a code from the authenticator app. */
export function TotpSetup(props: { enabled: boolean; onChanged: () => void }) {
  const [secret, setSecret] = useState<{ secret: string; otpauth_url: string }>();
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  if (props.enabled)
    return (
      <form
        aria-label="Turn off two-factor sign-in"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            await del('/api/me/totp', { password });
            props.onChanged();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <p>Two-factor sign-in (TOTP) is on.</p>
        <Field label="Password to turn it off">
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <button type="submit" className="danger">
          Turn off TOTP
        </button>
        <ActionError error={error} />
      </form>
    );
  return (
    <div aria-label="Two-factor sign-in">
      <p>Two-factor sign-in (TOTP) is off.</p>
      {!secret ? (
        <button
          type="button"
          onClick={async () => {
            setError(undefined);
            try {
              setSecret(await post<{ secret: string; otpauth_url: string }>('/api/me/totp'));
            } catch (err) {
              setError(err);
            }
          }}
        >
          Set up TOTP…
        </button>
      ) : (
        <form
          aria-label="Confirm TOTP"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            try {
              await post('/api/me/totp/confirm', { code: code.trim() });
              setSecret(undefined);
              props.onChanged();
            } catch (err) {
              setError(err);
            }
          }}
        >
          <p className="small">
            Add this key to your authenticator app (or open the link on the phone that has it), then enter the
            code it shows.
          </p>
          <div className="secret" aria-label="TOTP key">
            {secret.secret}
          </div>
          <p className="small">
            <a href={secret.otpauth_url}>otpauth link</a>
          </p>
          <Field label="Code from the app">
            <input
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </Field>
          <button type="submit" className="primary">
            Confirm
          </button>
        </form>
      )}
      <ActionError error={error} />
    </div>
  );
}
