import { useState } from 'preact/hooks';
import { browserTimeZone, localToIso, toLocalInput } from '../lib/time';
import { Dialog } from './Dialog';

/** Picks a local date and time; the message goes with the browser's IANA zone. */
export function ScheduleDialog({ onClose, onSchedule }: { onClose: () => void; onSchedule: (isoWhen: string) => Promise<void> }) {
  const [value, setValue] = useState(() => toLocalInput(new Date(Date.now() + 60 * 60 * 1000)));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Schedule message" onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const iso = localToIso(value);
          if (!iso || new Date(iso).getTime() <= Date.now()) {
            setError('Pick a time in the future.');
            return;
          }
          setBusy(true);
          setError(null);
          try {
            await onSchedule(iso);
          } catch (err) {
            setError(err instanceof Error ? err.message : 'Could not schedule it.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Send at
          <input type="datetime-local" name="scheduledFor" required value={value} min={toLocalInput(new Date())} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <p class="hint">Time zone: {browserTimeZone()}</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          Schedule
        </button>
      </form>
    </Dialog>
  );
}
