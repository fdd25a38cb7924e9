import { useEffect, useState } from 'preact/hooks';
import type { Member } from '../api/client';
import { canRemove, roleChoices, roleLabel, sortMembers, type Role } from '../lib/roles';
import { app, useApp } from '../state/app';
import { Dialog } from './Dialog';
import { ErrorLine, useAction } from './dialogs';

/** The workspace's members with their roles; owners and admins change roles and remove people. */
export function MembersDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const [loaded, setLoaded] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  useEffect(() => {
    void run(() => app.loadMembers()).then(() => setLoaded(true));
  }, []);
  const me = s.user?.id ?? '';
  const myRole = app.myRole();
  const list = sortMembers(Object.values(s.members));
  const nameOf = (m: Member) => m.name || m.email || 'Someone';

  async function act(what: string, f: () => Promise<unknown>) {
    setDone(null);
    if (await run(f)) setDone(what);
  }

  return (
    <Dialog title="Members" onClose={onClose}>
      {!loaded && busy && <p role="status">Loading members…</p>}
      <ul class="browse members" aria-label="Workspace members">
        {list.map((m) => {
          const choices = roleChoices(myRole, m, me);
          return (
            <li key={m.userId} data-member={m.userId}>
              <span class="who">
                <span class={`dot ${s.presence[m.userId] === 'active' ? 'on' : ''}`} aria-hidden="true" />
                <span class="name">{nameOf(m)}</span>
                {m.userId === me && <span class="muted"> (you)</span>}
                {m.email && m.name && <span class="muted email"> {m.email}</span>}
                {m.isGuest && <span class="tag">Guest{m.expiresAt ? ` until ${new Date(m.expiresAt).toLocaleDateString()}` : ''}</span>}
              </span>
              <span class="row">
                {choices.length > 0 ? (
                  <select
                    aria-label={`Role of ${nameOf(m)}`}
                    value={m.role}
                    disabled={busy}
                    onChange={(e) => {
                      const role = e.currentTarget.value as Role;
                      const el = e.currentTarget;
                      void act(`${nameOf(m)} is now ${roleLabel(role).toLowerCase()}.`, () => app.setMemberRole(m.userId, role)).then(() => {
                        // A refusal: show the role the server still has.
                        el.value = app.state.members[m.userId]?.role ?? m.role;
                      });
                    }}
                  >
                    {choices.map((r) => (
                      <option key={r} value={r}>
                        {roleLabel(r)}
                      </option>
                    ))}
                    {!choices.includes(m.role as Role) && <option value={m.role}>{roleLabel(m.role)}</option>}
                  </select>
                ) : (
                  <span class="tag role">{roleLabel(m.role)}</span>
                )}
                {canRemove(myRole, m, me) && (
                  <button
                    class="danger"
                    aria-label={`Remove ${nameOf(m)}`}
                    disabled={busy}
                    onClick={() => {
                      if (confirm(`Remove ${nameOf(m)} from the workspace?`)) void act(`${nameOf(m)} was removed.`, () => app.removeMember(m.userId));
                    }}
                  >
                    Remove
                  </button>
                )}
              </span>
            </li>
          );
        })}
      </ul>
      <ErrorLine error={error} />
      {done && !error && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </Dialog>
  );
}
