import { useEffect, useRef, useState } from 'preact/hooks';
import type { Notification } from '../api/client';
import { kindLabel } from '../lib/notifications';
import { formatWhen } from '../lib/time';
import { app, noteKey, useApp } from '../state/app';
import { ProfileDialog } from './ProfileDialog';
import { ScheduledDialog } from './ScheduledDialog';
import { SecurityDialog } from './SecurityDialog';
import { SavedDialog } from './PinsDialog';

/** Above the messages: search, the notification bell, and the person's own menu. */
export function TopBar({ navOpen, onMenu }: { navOpen: boolean; onMenu: () => void }) {
  const s = useApp();
  const [q, setQ] = useState(s.search?.query ?? '');
  const [bell, setBell] = useState(false);
  const [dialog, setDialog] = useState<'profile' | 'scheduled' | 'security' | 'saved' | null>(null);
  const me = s.user?.id ?? '';
  const status = s.statuses[me];
  return (
    <header class="topbar">
      <button class="icon menu" aria-label="Open navigation" aria-expanded={navOpen} onClick={onMenu}>
        ☰
      </button>
      <form
        role="search"
        class="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          void app.search(q);
        }}
      >
        <input
          type="search"
          name="q"
          aria-label="Search messages"
          placeholder="Search (from:@name in:#channel before:2026-01-31 after:2026-01-01)"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </form>
      <div class="bell-wrap">
        <button
          class={`icon bell ${s.notifUnread ? 'has-unread' : ''}`}
          aria-label={s.notifUnread ? `Notifications, ${s.notifUnread} unread` : 'Notifications'}
          aria-haspopup="dialog"
          aria-expanded={bell}
          onClick={() => {
            if (!bell) void app.loadNotifications();
            setBell(!bell);
          }}
        >
          🔔
          {s.notifUnread > 0 && (
            <span class="badge mention" data-testid="bell-count" aria-hidden="true">
              {s.notifUnread > 99 ? '99+' : s.notifUnread}
            </span>
          )}
        </button>
        {bell && <NotificationsPanel onClose={() => setBell(false)} />}
      </div>
      <button class="me-button" aria-label="Profile and status" title="Profile, status and notification settings" onClick={() => setDialog('profile')}>
        {status?.dnd && (
          <span class="dnd" title="Do not disturb" aria-hidden="true">
            ⛔
          </span>
        )}
        {status?.emoji && <span aria-hidden="true">{status.emoji} </span>}
        <span class="me-name">{s.user?.name}</span>
      </button>
      <button class="icon" aria-label="Scheduled messages and reminders" title="Scheduled messages and reminders" onClick={() => setDialog('scheduled')}>
        🗓
      </button>
      <button class="icon" aria-label="Sessions and security" title="Sessions and two-factor sign-in" onClick={() => setDialog('security')}>
        🔒
      </button>
      <button
        class="icon"
        aria-label="My notes"
        aria-pressed={!!s.wsId && s.notesPanel === noteKey('personal', s.wsId)}
        title="My notes (only you see them)"
        onClick={() => {
          if (!s.wsId) return;
          const k = noteKey('personal', s.wsId);
          if (s.notesPanel === k) app.closeNotes();
          else void app.openNotes(k);
        }}
      >
        🗒
      </button>
      <button class="icon" aria-label="Saved messages" title="Saved messages" onClick={() => setDialog('saved')}>
        🔖
      </button>
      {dialog === 'saved' && <SavedDialog onClose={() => setDialog(null)} />}
      {dialog === 'security' && <SecurityDialog onClose={() => setDialog(null)} />}
      {dialog === 'profile' && <ProfileDialog onClose={() => setDialog(null)} />}
      {dialog === 'scheduled' && <ScheduledDialog onClose={() => setDialog(null)} />}
    </header>
  );
}

function NotificationsPanel({ onClose }: { onClose: () => void }) {
  const s = useApp();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('button')?.focus();
    const away = (e: MouseEvent) => {
      const wrap = ref.current?.parentElement;
      if (wrap && !wrap.contains(e.target as Node)) onClose();
    };
    // Escape closes it wherever focus is (a button that just got disabled drops it to <body>).
    const key = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      const bell = ref.current?.parentElement?.querySelector<HTMLElement>('button.bell');
      onClose();
      bell?.focus();
    };
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', key);
    return () => {
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', key);
    };
  }, []);
  const open = (n: Notification) => {
    onClose();
    void app.openNotification(n).catch((e) => app.reportError(e));
  };
  return (
    <div
      class="notifications"
      role="dialog"
      aria-label="Notifications"
      ref={ref}
    >
      <header>
        <h2>Notifications</h2>
        <button class="link" disabled={s.notifUnread === 0} onClick={() => void app.markAllNotificationsRead()}>
          Mark all read
        </button>
      </header>
      {s.notifications.length === 0 ? (
        <p class="muted empty">Nothing yet. Mentions, replies to your threads and direct messages show here.</p>
      ) : (
        <ul>
          {s.notifications.map((n) => (
            <li key={n.id} class={n.isRead ? 'read' : 'unread'} data-notification={n.id}>
              <button class="open" onClick={() => open(n)}>
                <span class="kind">
                  {kindLabel(n.type)}
                  {!n.isRead && <span class="sr-only"> (unread)</span>}
                </span>
                <span class="title">{n.title}</span>
                {n.body && <span class="body">{n.body}</span>}
                <time class="muted" dateTime={n.createdAt}>
                  {formatWhen(n.createdAt)}
                </time>
              </button>
              {!n.isRead && (
                <button class="icon mark" aria-label={`Mark read: ${n.title}`} title="Mark read" onClick={() => void app.markNotificationRead(n.id)}>
                  ✓
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
