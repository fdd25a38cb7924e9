import { useEffect, useState } from 'preact/hooks';
import { app, useApp } from '../state/app';
import { Dialog } from './Dialog';

export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(f: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Failed');
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run };
}

export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function CreateChannelDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const { error, busy, run } = useAction();
  return (
    <Dialog title="Create a channel" onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await run(() => app.createChannel(name.trim().replace(/^#/, ''), isPrivate, description.trim()))) onClose();
        }}
      >
        <label>
          Name
          <input name="channelName" required maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Description (optional)
          <input name="channelDescription" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" name="isPrivate" checked={isPrivate} onChange={(e) => setPrivate(e.currentTarget.checked)} />
          Private: only invited members can see it
        </label>
        <ErrorLine error={error} />
        <button class="primary" type="submit" disabled={busy}>
          Create
        </button>
      </form>
    </Dialog>
  );
}

export function BrowseChannelsDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const { error, busy, run } = useAction();
  useEffect(() => {
    void app.refreshChannels().catch(() => undefined);
  }, []);
  const open = s.channels.filter((c) => !c.isMember && !c.isPrivate && !c.isArchived);
  return (
    <Dialog title="Browse channels" onClose={onClose}>
      {open.length === 0 ? (
        <p>You are in every public channel.</p>
      ) : (
        <ul class="browse" aria-label="Public channels you can join">
          {open.map((c) => (
            <li key={c.id}>
              <span>
                <strong>#{c.name}</strong>
                {c.description && <span class="muted"> — {c.description}</span>}
                {typeof c.memberCount === 'number' && <span class="muted"> · {c.memberCount} members</span>}
              </span>
              <button
                disabled={busy}
                aria-label={`Join #${c.name}`}
                onClick={async () => {
                  if (await run(() => app.joinChannel(c.id))) onClose();
                }}
              >
                Join
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={error} />
    </Dialog>
  );
}

export function InviteDialog({ onClose }: { onClose: () => void }) {
  const [url, setUrl] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const { error, busy, run } = useAction();
  const mail = useAction();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [sent, setSent] = useState<string | null>(null);
  const myRole = app.myRole();
  const canInvite = myRole === 'owner' || myRole === 'admin';
  useEffect(() => {
    void run(async () => setUrl(await app.createInvite()));
  }, []);
  return (
    <Dialog title="Invite people" onClose={onClose}>
      <p>Anyone with this link can join the workspace.</p>
      {busy && <p role="status">Creating a link…</p>}
      {url && (
        <div class="row">
          <input readOnly aria-label="Invite link" name="inviteLink" value={url} onFocus={(e) => e.currentTarget.select()} />
          <button
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(url);
                setCopied(true);
              } catch {
                setCopied(false);
              }
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </button>
        </div>
      )}
      <ErrorLine error={error} />
      {canInvite && (
        <form
          class="invite-email"
          onSubmit={async (e) => {
            e.preventDefault();
            setSent(null);
            const to = email.trim();
            const ok = await mail.run(() => app.inviteByEmail(to, role));
            if (ok) {
              setSent(`Invitation sent to ${to}${role === 'admin' ? ' (as admin)' : ''}. Its link works once, for that address.`);
              setEmail('');
            }
          }}
        >
          <h3>Or invite by email</h3>
          <div class="row">
            <input type="email" name="inviteEmail" aria-label="Email address to invite" placeholder="name@example.com" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            {myRole === 'owner' && (
              <select name="inviteRole" aria-label="Role" value={role} onChange={(e) => setRole(e.currentTarget.value as 'member' | 'admin')}>
                <option value="member">Member</option>
                <option value="admin">Admin</option>
              </select>
            )}
            <button class="primary" type="submit" disabled={mail.busy}>
              Send invitation
            </button>
          </div>
          {sent && (
            <p role="status" class="ok">
              {sent}
            </p>
          )}
          <ErrorLine error={mail.error} />
        </form>
      )}
    </Dialog>
  );
}

export function NewMessageDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const { error, busy, run } = useAction();
  const others = Object.values(s.members).filter((m) => m.userId !== s.user?.id);
  return (
    <Dialog title="Direct message" onClose={onClose}>
      {others.length === 0 ? (
        <p>Nobody else is here yet. Invite people first.</p>
      ) : (
        <ul class="browse" aria-label="Members">
          {others.map((m) => (
            <li key={m.userId}>
              <span>
                <span class={`dot ${s.presence[m.userId] === 'active' ? 'on' : ''}`} aria-hidden="true" />
                {m.name ?? m.email}
              </span>
              <button
                disabled={busy}
                onClick={async () => {
                  if (await run(() => app.openConversation(m.userId))) onClose();
                }}
              >
                Message
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={error} />
    </Dialog>
  );
}
