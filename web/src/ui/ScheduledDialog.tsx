import { useEffect, useState } from 'preact/hooks';
import type { Reminder, ScheduledMessage } from '../api/client';
import { localToIso, toLocalInput, formatWhen } from '../lib/time';
import { app, keyOf, placeName, useApp } from '../state/app';
import { Dialog } from './Dialog';

/** The person's scheduled messages (cancel while pending) and reminders (add, done, cancel). */
export function ScheduledDialog({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const [scheduled, setScheduled] = useState<ScheduledMessage[] | null>(null);
  const [reminders, setReminders] = useState<Reminder[] | null>(null);
  const [text, setText] = useState('');
  const [when, setWhen] = useState(() => toLocalInput(new Date(Date.now() + 60 * 60 * 1000)));
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    app.listScheduled().then(setScheduled).catch((e) => setError(e.message));
    app.listReminders().then(setReminders).catch((e) => setError(e.message));
  };
  useEffect(load, []);
  const act = (f: () => Promise<unknown>) => {
    setError(null);
    f()
      .then(load)
      .catch((e) => setError(e instanceof Error ? e.message : 'Failed'));
  };
  const where = (m: ScheduledMessage) =>
    m.channelId ? placeName(s, keyOf('channel', m.channelId)) : m.conversationId ? placeName(s, keyOf('conversation', m.conversationId)) : '';
  return (
    <Dialog title="Scheduled and reminders" onClose={onClose}>
      <h3>Scheduled messages</h3>
      {scheduled === null ? (
        <p role="status">Loading…</p>
      ) : scheduled.filter((m) => m.status !== 'cancelled').length === 0 ? (
        <p class="muted">None. Use 🕓 beside Send to send a message later.</p>
      ) : (
        <ul class="browse" aria-label="Scheduled messages">
          {scheduled
            .filter((m) => m.status !== 'cancelled')
            .map((m) => (
              <li key={m.id}>
                <span>
                  <strong>{formatWhen(m.scheduledFor)}</strong> {where(m)} — {m.content.slice(0, 80)}
                  <span class="muted"> ({m.status}{m.error ? `: ${m.error}` : ''})</span>
                </span>
                {m.status === 'pending' && <button onClick={() => act(() => app.cancelScheduled(m.id))}>Cancel</button>}
              </li>
            ))}
        </ul>
      )}
      <h3>Reminders</h3>
      <form
        aria-label="New reminder"
        onSubmit={(e) => {
          e.preventDefault();
          const iso = localToIso(when);
          if (!iso) return setError('Pick a time.');
          act(async () => {
            await app.createReminder({ text: text.trim(), remindAt: iso });
            setText('');
          });
        }}
      >
        <label>
          Remind me about
          <input name="reminderText" required maxLength={1000} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <label>
          At
          <input type="datetime-local" name="remindAt" required value={when} onInput={(e) => setWhen(e.currentTarget.value)} />
        </label>
        <button class="primary" type="submit">
          Add reminder
        </button>
      </form>
      {reminders !== null && reminders.length > 0 && (
        <ul class="browse" aria-label="Reminders">
          {reminders.map((r) => (
            <li key={r.id}>
              <span>
                <strong>{formatWhen(r.snoozedUntil ?? r.remindAt)}</strong> {r.text ?? 'About a message'} <span class="muted">({r.status})</span>
              </span>
              <span class="row">
                <button onClick={() => act(() => app.completeReminder(r.id))}>Done</button>
                <button onClick={() => act(() => app.cancelReminder(r.id))}>Cancel</button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
