import { useState } from 'preact/hooks';
import { app } from '../state/app';

export function slugify(name: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30);
  return base.length >= 3 ? base : (base + '-team').replace(/^-/, '');
}

export function CreateWorkspace({ first, onDone }: { first?: boolean; onDone?: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await app.createWorkspace(name.trim(), touched ? slug : slugify(name));
      onDone?.();
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Failed');
    } finally {
      setBusy(false);
    }
  }
  const form = (
    <form class="card" onSubmit={submit} aria-labelledby="ws-title">
      <h1 id="ws-title">{first ? 'Create your first workspace' : 'New workspace'}</h1>
      <label>
        Workspace name
        <input name="workspaceName" required autoFocus value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Address
        <input
          name="workspaceSlug"
          required
          pattern="[a-z0-9][a-z0-9\-]{1,38}[a-z0-9]"
          value={touched ? slug : slugify(name)}
          onInput={(e) => {
            setTouched(true);
            setSlug(e.currentTarget.value);
          }}
        />
      </label>
      <p class="hint">Lowercase letters, digits and dashes.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button class="primary" type="submit" disabled={busy}>
        Create workspace
      </button>
      {first && (
        <button type="button" class="link" onClick={() => void app.signOut()}>
          Sign out
        </button>
      )}
    </form>
  );
  return first ? <main class="auth">{form}</main> : form;
}
