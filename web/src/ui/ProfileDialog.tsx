import { useEffect, useState } from 'preact/hooks';
import { app, useApp } from '../state/app';
import { Dialog } from './Dialog';

const DIGESTS: [number, string][] = [
  [0, 'Never'],
  [15, 'At most every 15 minutes'],
  [60, 'At most hourly'],
  [240, 'At most every 4 hours'],
  [1440, 'At most daily'],
];

/** The person's own profile in this workspace, custom status, Do Not Disturb, emails and push. */
export function ProfileDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const me = s.user!.id;
  const current = s.statuses[me];
  const [emoji, setEmoji] = useState(current?.emoji ?? '');
  const [text, setText] = useState(current?.text ?? '');
  const [dnd, setDnd] = useState(!!current?.dnd);
  const [profile, setProfile] = useState({ displayName: '', title: '', pronouns: '', timezone: '', bio: '' });
  const [loaded, setLoaded] = useState(false);
  const [digest, setDigest] = useState<number | null>(null);
  const [push, setPush] = useState<{ key: string; on: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    app
      .getProfile()
      .then((p) => {
        setProfile({ displayName: p.displayName ?? '', title: p.title ?? '', pronouns: p.pronouns ?? '', timezone: p.timezone ?? '', bio: p.bio ?? '' });
        if (p.status) {
          setEmoji(p.status.emoji ?? '');
          setText(p.status.text ?? '');
          setDnd(!!p.status.dnd);
        }
        setLoaded(true);
      })
      .catch((e) => setError(e instanceof Error ? e.message : 'Could not load your profile.'));
    app
      .getEmailDigest()
      .then(setDigest)
      .catch(() => setDigest(null));
    void app.pushKey().then(async (key) => {
      if (key) setPush({ key, on: await app.pushSubscribed().catch(() => false) });
    });
  }, []);

  async function run(what: string, f: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      await f();
      setSaved(what);
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Failed');
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Profile and status" onClose={onClose}>
      <form
        aria-label="Status"
        onSubmit={(e) => {
          e.preventDefault();
          void run('Status saved.', () => app.setStatus({ emoji: emoji.trim(), text: text.trim(), dnd }));
        }}
      >
        <h3>Status</h3>
        <div class="row status-row">
          <label class="emoji-field">
            Emoji
            <input name="statusEmoji" maxLength={16} value={emoji} placeholder="🙂" onInput={(e) => setEmoji(e.currentTarget.value)} />
          </label>
          <label class="grow">
            Status
            <input name="statusText" maxLength={100} value={text} placeholder="What are you up to?" onInput={(e) => setText(e.currentTarget.value)} />
          </label>
        </div>
        <label class="check">
          <input type="checkbox" name="dnd" checked={dnd} onChange={(e) => setDnd(e.currentTarget.checked)} />
          Do not disturb: no notifications until I turn it off
        </label>
        <div class="row">
          <button class="primary" type="submit" disabled={busy}>
            Save status
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run('Status cleared.', async () => {
                await app.setStatus({});
                setEmoji('');
                setText('');
                setDnd(false);
              })
            }
          >
            Clear status
          </button>
        </div>
      </form>
      <form
        aria-label="Profile"
        onSubmit={(e) => {
          e.preventDefault();
          void run('Profile saved.', () => app.updateProfile(profile));
        }}
      >
        <h3>Profile</h3>
        {(
          [
            ['displayName', 'Display name'],
            ['title', 'Title'],
            ['pronouns', 'Pronouns'],
            ['timezone', 'Time zone (IANA, e.g. Europe/Paris)'],
          ] as const
        ).map(([k, label]) => (
          <label key={k}>
            {label}
            <input name={k} value={profile[k]} disabled={!loaded} required={k === 'displayName'} onInput={(e) => setProfile({ ...profile, [k]: e.currentTarget.value })} />
          </label>
        ))}
        <label>
          About
          <textarea name="bio" rows={3} value={profile.bio} disabled={!loaded} onInput={(e) => setProfile({ ...profile, bio: e.currentTarget.value })} />
        </label>
        <button class="primary" type="submit" disabled={busy || !loaded}>
          Save profile
        </button>
      </form>
      <form aria-label="Notifications" onSubmit={(e) => e.preventDefault()}>
        <h3>Notifications</h3>
        {digest === null ? (
          <p class="muted">Email digests are not available on this server.</p>
        ) : (
          <label>
            Email me about unread mentions and direct messages
            <select name="digestMinutes" value={String(digest)} onChange={(e) => {
              const v = Number(e.currentTarget.value);
              void run('Email setting saved.', async () => setDigest(await app.setEmailDigest(v)));
            }}>
              {DIGESTS.some(([m]) => m === digest) ? null : <option value={String(digest)}>Every {digest} minutes</option>}
              {DIGESTS.map(([m, label]) => (
                <option key={m} value={String(m)}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        )}
        {push && (
          <label class="check">
            <input
              type="checkbox"
              name="push"
              checked={push.on}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                void run(on ? 'Push notifications on.' : 'Push notifications off.', async () => {
                  if (on) await app.enablePush(push.key);
                  else await app.disablePush();
                  setPush({ ...push, on });
                });
              }}
            />
            Push notifications in this browser
          </label>
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {saved && (
        <p class="ok" role="status">
          {saved}
        </p>
      )}
    </Dialog>
  );
}
