import { useState } from 'preact/hooks';
import { ApiError, api, call } from '../api/client';
import { app, useApp } from '../state/app';

export function AuthView({ invite }: { invite: boolean }) {
  const s = useApp();
  const [mode, setMode] = useState<'signIn' | 'signUp' | 'forgot'>('signIn');
  const [sent, setSent] = useState(false);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (mode === 'forgot') {
        await call(api.POST('/api/auth/forget-password', { body: { email: email.trim() } }));
        setSent(true);
        return;
      }
      if (mode === 'signUp') await app.signUp(name.trim(), email.trim(), password);
      else await app.signIn(email.trim(), password, needCode ? code.trim() : undefined);
    } catch (err) {
      if (err instanceof ApiError && err.details?.twoFactorRequired) {
        setNeedCode(true);
        setError(needCode ? 'That code did not work. Try again.' : 'Enter the code from your authenticator app.');
      } else if (err instanceof ApiError) {
        setError(err.status === 0 ? 'Cannot reach the server.' : err.message);
      } else setError('Something went wrong.');
    } finally {
      setBusy(false);
    }
  }

  const signUp = mode === 'signUp';
  if (mode === 'forgot') {
    return (
      <main class="auth">
        <form class="card" onSubmit={submit} aria-labelledby="forgot-title">
          <h1 id="forgot-title">Reset your password</h1>
          {sent ? (
            <p role="status">If an account uses {email.trim()}, a link to choose a new password is on its way. It works once, for an hour.</p>
          ) : (
            <>
              <label>
                Email
                <input name="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
              </label>
              {error && (
                <p class="error" role="alert">
                  {error}
                </p>
              )}
              <button type="submit" class="primary" disabled={busy}>
                Email me a link
              </button>
            </>
          )}
          <button
            type="button"
            class="link"
            onClick={() => {
              setMode('signIn');
              setSent(false);
              setError(null);
            }}
          >
            Back to sign in
          </button>
        </form>
      </main>
    );
  }
  return (
    <main class="auth">
      <form class="card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{signUp ? 'Create your account' : 'Sign in to OComms'}</h1>
        {invite && <p class="hint">Sign in or create an account to accept your invitation.</p>}
        {s.notice && <p class="error">{s.notice}</p>}
        {signUp && (
          <label>
            Name
            <input name="name" autocomplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={signUp ? 'new-password' : 'current-password'}
            minLength={signUp ? 10 : undefined}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {signUp && <p class="hint">At least 10 characters.</p>}
        {needCode && !signUp && (
          <label>
            Two-factor code
            <input
              name="totpCode"
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              autoFocus
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {signUp ? 'Create account' : 'Sign in'}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(signUp ? 'signIn' : 'signUp');
            setError(null);
            setNeedCode(false);
          }}
        >
          {signUp ? 'I already have an account' : 'Create an account'}
        </button>
        {!signUp && (
          <button
            type="button"
            class="link"
            onClick={() => {
              setMode('forgot');
              setError(null);
            }}
          >
            Forgot your password?
          </button>
        )}
      </form>
    </main>
  );
}
