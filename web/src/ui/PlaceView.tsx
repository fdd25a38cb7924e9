import { useEffect, useState } from 'preact/hooks';
import { app, noteKey, placeName, splitKey, useApp } from '../state/app';
import { ChannelSettingsDialog } from './ChannelSettingsDialog';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { PinsDialog } from './PinsDialog';
import { Typing } from './Typing';

export function PlaceView({ placeKey }: { placeKey: string }) {
  const s = useApp();
  const { kind, id } = splitKey(placeKey);
  const channel = kind === 'channel' ? s.channels.find((c) => c.id === id) : undefined;
  const name = placeName(s, placeKey);
  const canPost = kind === 'conversation' || !!channel?.isMember;
  const [joining, setJoining] = useState(false);
  const [settings, setSettings] = useState(false);
  const [pins, setPins] = useState(false);
  const pinCount = channel ? (s.pins[channel.id]?.length ?? 0) : 0;
  useEffect(() => {
    document.title = `${name} · OComms`;
  }, [name]);
  return (
    <section class="place-view" aria-labelledby="place-title">
      <header class="place-header">
        <h2 id="place-title">{name}</h2>
        {channel?.description && <p class="muted">{channel.description}</p>}
        {channel && (
          <button class="icon pins-button" aria-label={`Pinned messages${pinCount ? `, ${pinCount}` : ''}`} title="Pinned messages" onClick={() => setPins(true)}>
            📌{pinCount > 0 && <span class="count">{pinCount}</span>}
          </button>
        )}
        {channel && (
          <button
            class="icon notes-button"
            aria-label="Channel notes"
            aria-pressed={s.notesPanel === noteKey('channel', channel.id)}
            title="Channel notes"
            onClick={() => {
              const k = noteKey('channel', channel.id);
              if (s.notesPanel === k) app.closeNotes();
              else void app.openNotes(k);
            }}
          >
            📝
          </button>
        )}
        {channel?.isMember && (
          <button class="icon settings" aria-label={`Notification settings for ${name}`} title="Notification settings" onClick={() => setSettings(true)}>
            ⚙
          </button>
        )}
      </header>
      {pins && channel && <PinsDialog channelId={channel.id} name={name} onClose={() => setPins(false)} />}
      {settings && channel && <ChannelSettingsDialog channelId={channel.id} name={name} onClose={() => setSettings(false)} />}
      <MessageList placeKey={placeKey} label={`Messages in ${name}`} />
      <Typing placeKey={placeKey} />
      {canPost ? (
        <Composer placeKey={placeKey} label={`Message ${name}`} />
      ) : (
        <div class="join-bar">
          <p>You are viewing {name}.</p>
          <button
            class="primary"
            disabled={joining}
            onClick={async () => {
              setJoining(true);
              try {
                await app.joinChannel(id);
              } catch (e) {
                app.reportError(e);
              } finally {
                setJoining(false);
              }
            }}
          >
            Join channel
          </button>
        </div>
      )}
    </section>
  );
}
