import { useState } from 'preact/hooks';
import { ApiError, api, call } from '../api/client';

/** The page the password-reset email links to: choose a new password. */
export function ResetPasswordView({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    if (password !== again) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    try {
      await call(api.POST('/api/auth/reset-password', { body: { token, newPassword: password } }));
      setDone(true);
    } catch (err) {
      setError(err instanceof ApiError ? (err.status === 0 ? 'Cannot reach the server.' : err.message) : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <main class="auth">
        <div class="card" role="status">
          <h1>Password changed</h1>
          <p>Every session of your account was signed out.</p>
          <a href="/" class="primary">
            Sign in
          </a>
        </div>
      </main>
    );
  }
  return (
    <main class="auth">
      <form class="card" onSubmit={submit} aria-labelledby="reset-title">
        <h1 id="reset-title">Choose a new password</h1>
        {!token && <p class="error">This link has no token. Open the link from the email again.</p>}
        <label>
          New password
          <input
            name="newPassword"
            type="password"
            autocomplete="new-password"
            minLength={10}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label>
          The same again
          <input
            name="again"
            type="password"
            autocomplete="new-password"
            minLength={10}
            required
            value={again}
            onInput={(e) => setAgain(e.currentTarget.value)}
          />
        </label>
        <p class="hint">At least 10 characters.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || !token}>
          Change password
        </button>
      </form>
    </main>
  );
}
