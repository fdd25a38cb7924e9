import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { app, useApp } from '../state/app';

export function InviteView({ token }: { token: string }) {
  const s = useApp();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function accept() {
    setBusy(true);
    setError(null);
    try {
      await app.acceptInvite(token);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? 'This invitation is not valid any more.' : e instanceof Error ? e.message : 'Failed');
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="auth">
      <div class="card">
        <h1>You are invited</h1>
        <p>Signed in as {s.user?.email}. Accept to join the workspace.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" onClick={accept} disabled={busy}>
          Accept invitation
        </button>
        <button class="link" onClick={() => app.navigate({ name: 'home' })}>
          Not now
        </button>
      </div>
    </main>
  );
}
