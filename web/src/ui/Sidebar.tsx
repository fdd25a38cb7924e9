import { useState } from 'preact/hooks';
import type { Channel } from '../api/client';
import { app, conversationName, keyOf, useApp, type AppState } from '../state/app';
import { routePath } from '../state/route';
import { EmojiDialog } from './EmojiDialog';
import { MembersDialog } from './MembersDialog';
import { BrowseChannelsDialog, CreateChannelDialog, InviteDialog, NewMessageDialog } from './dialogs';

type DialogName = 'channel' | 'browse' | 'invite' | 'dm' | 'members' | 'emoji' | null;

export function Sidebar({ onNavigate }: { onNavigate: () => void }) {
  const s = useApp();
  const [dialog, setDialog] = useState<DialogName>(null);
  const ws = s.workspaces.find((w) => w.id === s.wsId);
  const mine = s.channels.filter((c) => c.isMember && !c.isArchived);
  const groups = groupByCategory(s, mine);
  const go = (kind: 'channel' | 'conversation', id: string) => {
    onNavigate();
    app.navigate({ name: 'place', wsId: s.wsId!, kind, id });
  };
  return (
    <nav class="sidebar" aria-label="Channels and direct messages">
      <header class="ws-header">
        <h1 title={ws?.name}>{ws?.name ?? 'OComms'}</h1>
        <div class="row">
          <button onClick={() => setDialog('invite')}>Invite people</button>
          <button onClick={() => setDialog('members')}>Members</button>
          <button onClick={() => setDialog('emoji')}>Custom emoji</button>
          <button class="link" onClick={() => void app.signOut()}>
            Sign out
          </button>
        </div>
        <p class="muted me">
          <span class={`dot ${s.connected ? 'on' : ''}`} aria-hidden="true" />
          {s.user?.name}
          <span class="sr-only">{s.connected ? ' (connected)' : ' (not connected)'}</span>
        </p>
      </header>
      {groups.map(([title, channels]) => (
        <section key={title} aria-label={title}>
          <h2>{title}</h2>
          <ul>
            {channels.map((c) => (
              <PlaceLink
                key={c.id}
                s={s}
                placeKey={keyOf('channel', c.id)}
                href={routePath({ name: 'place', wsId: s.wsId!, kind: 'channel', id: c.id })}
                label={`${c.isPrivate ? '🔒' : '#'} ${c.name}`}
                onClick={() => go('channel', c.id)}
              />
            ))}
          </ul>
        </section>
      ))}
      <div class="side-actions">
        <button onClick={() => setDialog('channel')}>+ Create channel</button>
        <button onClick={() => setDialog('browse')}>Browse channels</button>
      </div>
      <section aria-label="Direct messages">
        <h2>Direct messages</h2>
        <ul>
          {s.conversations.map((c) => {
            const other = c.participantIds.find((u) => u !== s.user?.id);
            const on = other ? s.presence[other] === 'active' : false;
            return (
              <PlaceLink
                key={c.id}
                s={s}
                placeKey={keyOf('conversation', c.id)}
                href={routePath({ name: 'place', wsId: s.wsId!, kind: 'conversation', id: c.id })}
                label={conversationName(s, c)}
                presence={on ? 'active' : 'away'}
                onClick={() => go('conversation', c.id)}
              />
            );
          })}
        </ul>
        <div class="side-actions">
          <button onClick={() => setDialog('dm')}>+ New message</button>
        </div>
      </section>
      {dialog === 'channel' && <CreateChannelDialog onClose={() => setDialog(null)} />}
      {dialog === 'browse' && <BrowseChannelsDialog onClose={() => setDialog(null)} />}
      {dialog === 'members' && <MembersDialog onClose={() => setDialog(null)} />}
      {dialog === 'invite' && <InviteDialog onClose={() => setDialog(null)} />}
      {dialog === 'dm' && <NewMessageDialog onClose={() => setDialog(null)} />}
      {dialog === 'emoji' && <EmojiDialog onClose={() => setDialog(null)} />}
    </nav>
  );
}

function PlaceLink({
  s,
  placeKey,
  href,
  label,
  presence,
  onClick,
}: {
  s: AppState;
  placeKey: string;
  href: string;
  label: string;
  presence?: 'active' | 'away';
  onClick: () => void;
}) {
  const u = s.unread[placeKey];
  const current = s.current === placeKey;
  const count = current ? 0 : (u?.count ?? 0);
  const mentions = current ? 0 : (u?.mentions ?? 0);
  const desc = [count ? `${count >= 1000 ? '1000+' : count} unread` : '', mentions ? `${mentions} mentions` : ''].filter(Boolean).join(', ');
  return (
    <li>
      <a
        href={href}
        class={`place ${current ? 'active' : ''} ${count ? 'unread' : ''}`}
        aria-current={current ? 'page' : undefined}
        onClick={(e) => {
          if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return; // a new tab or window
          e.preventDefault();
          onClick();
        }}
      >
        {presence && <span class={`dot ${presence === 'active' ? 'on' : ''}`} aria-hidden="true" />}
        <span class="name">{label}</span>
        {presence && <span class="sr-only">{presence === 'active' ? ', online' : ', away'}</span>}
        {desc && <span class="sr-only">, {desc}</span>}
        {mentions > 0 ? (
          <span class="badge mention" aria-hidden="true" data-testid="mention-badge">
            @{mentions}
          </span>
        ) : count > 0 ? (
          <span class="badge" aria-hidden="true" data-testid="unread-badge">
            {count >= 1000 ? '1000+' : count}
          </span>
        ) : null}
      </a>
    </li>
  );
}

function groupByCategory(s: AppState, channels: Channel[]): [string, Channel[]][] {
  const cats = [...s.categories].sort((a, b) => a.position - b.position);
  const out: [string, Channel[]][] = [];
  for (const c of cats) {
    const list = channels.filter((ch) => ch.categoryId === c.id);
    if (list.length) out.push([c.name, sortByName(list)]);
  }
  const rest = channels.filter((ch) => !ch.categoryId || !cats.some((c) => c.id === ch.categoryId));
  out.push(['Channels', sortByName(rest)]);
  return out;
}

function sortByName(l: Channel[]): Channel[] {
  return [...l].sort((a, b) => a.name.localeCompare(b.name));
}
