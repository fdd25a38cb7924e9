import { useEffect, useRef, useState } from 'preact/hooks';
import { emojiProblem, normalizeEmojiName, shortcode } from '../lib/emoji';
import { app, authorName, useApp } from '../state/app';
import { Dialog } from './Dialog';
import { ErrorLine, useAction } from './dialogs';

/** The workspace's custom emoji; admins and owners add them, admins and who added one remove it. */
export function EmojiDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const { error, busy, run } = useAction();
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const role = app.myRole();
  const admin = role === 'owner' || role === 'admin';
  const me = s.user?.id;
  useEffect(() => {
    void run(() => app.loadEmoji());
  }, []);
  return (
    <Dialog title="Custom emoji" onClose={onClose}>
      {s.emoji.length === 0 ? (
        <p class="muted">This workspace has no custom emoji yet.{admin ? ' Add one below.' : ''}</p>
      ) : (
        <ul class="browse emoji-list" aria-label="Custom emoji">
          {s.emoji.map((e) => (
            <li key={e.id} data-emoji={e.name}>
              <span>
                <img class="custom-emoji" src={e.url} alt="" width={24} height={24} /> <code>{shortcode(e.name)}</code>
                {e.createdBy && <span class="muted"> · {authorName(s, e.createdBy)}</span>}
              </span>
              {(admin || e.createdBy === me) && (
                <button
                  disabled={busy}
                  aria-label={`Remove ${shortcode(e.name)}`}
                  onClick={() => {
                    setDone(null);
                    void run(() => app.deleteEmoji(e.name)).then((ok) => ok && setDone(`${shortcode(e.name)} removed.`));
                  }}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {admin ? (
        <form
          class="emoji-upload"
          onSubmit={async (e) => {
            e.preventDefault();
            setDone(null);
            const n = normalizeEmojiName(name);
            const ok = await run(async () => {
              const problem = emojiProblem(n, file);
              if (problem) throw new Error(problem);
              await app.uploadEmoji(n, file!);
            });
            if (ok) {
              setDone(`${shortcode(n)} added.`);
              setName('');
              setFile(null);
              if (fileRef.current) fileRef.current.value = '';
            }
          }}
        >
          <h3>Add an emoji</h3>
          <label>
            Name
            <input name="emojiName" required value={name} pattern="[A-Za-z0-9_\-:]{2,34}" placeholder="party_parrot" onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Image (PNG or GIF, up to 256 KB)
            <input ref={fileRef} type="file" name="emojiFile" accept="image/png,image/gif" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </label>
          <button class="primary" type="submit" disabled={busy}>
            Add emoji
          </button>
        </form>
      ) : (
        <p class="muted">Admins and owners add custom emoji.</p>
      )}
      {done && (
        <p role="status" class="ok">
          {done}
        </p>
      )}
      <ErrorLine error={error} />
    </Dialog>
  );
}
