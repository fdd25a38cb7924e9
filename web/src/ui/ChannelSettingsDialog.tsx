import { useEffect, useState } from 'preact/hooks';
import type { ChannelSettings } from '../api/client';
import { app } from '../state/app';
import { Dialog } from './Dialog';

const LEVELS: [ChannelSettings['level'], string][] = [
  ['all', 'All new messages'],
  ['mentions', 'Mentions only'],
  ['none', 'Nothing'],
];

/** GET/POST /api/channels/{id}/notifications: level and mute, saved as they change. */
export function ChannelSettingsDialog({ channelId, name, onClose }: { channelId: string; name: string; onClose: () => void }) {
  const [settings, setSettings] = useState<ChannelSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    app
      .getChannelSettings(channelId)
      .then(setSettings)
      .catch((e) => setError(e.message));
  }, [channelId]);
  const change = (body: { level?: ChannelSettings['level']; muted?: boolean }) => {
    setError(null);
    setSaved(false);
    if (settings) setSettings({ ...settings, ...body });
    app
      .setChannelSettings(channelId, body)
      .then((x) => {
        setSettings(x);
        setSaved(true);
      })
      .catch((e) => setError(e.message));
  };
  return (
    <Dialog title={`Notifications for ${name}`} onClose={onClose}>
      {!settings && !error && <p role="status">Loading…</p>}
      {settings && (
        <form onSubmit={(e) => e.preventDefault()}>
          <fieldset>
            <legend>Notify me about</legend>
            {LEVELS.map(([level, label]) => (
              <label class="check" key={level}>
                <input type="radio" name="level" value={level} checked={settings.level === level} onChange={() => change({ level })} />
                {label}
              </label>
            ))}
          </fieldset>
          <label class="check">
            <input type="checkbox" name="muted" checked={settings.muted} onChange={(e) => change({ muted: e.currentTarget.checked })} />
            Mute this channel
          </label>
        </form>
      )}
      {saved && (
        <p class="ok" role="status">
          Saved.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
