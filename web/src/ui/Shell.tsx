import { useEffect, useState } from 'preact/hooks';
import { app, useApp } from '../state/app';
import { CreateWorkspace } from './CreateWorkspace';
import { Dialog } from './Dialog';
import { NotesPanel } from './NotesPanel';
import { PlaceView } from './PlaceView';
import { SearchPanel } from './SearchPanel';
import { Sidebar } from './Sidebar';
import { ThreadPanel } from './ThreadPanel';
import { TopBar } from './TopBar';

export function Shell() {
  const s = useApp();
  const [navOpen, setNavOpen] = useState(false);
  const [newWs, setNewWs] = useState(false);
  // On a phone the navigation is a drawer: it closes once a place is chosen.
  useEffect(() => setNavOpen(false), [s.current, s.wsId]);
  return (
    <div class={`shell ${s.thread || s.search || s.notesPanel ? 'with-thread' : ''} ${navOpen ? 'nav-open' : ''}`}>
      <a class="skip" href="#main">
        Skip to messages
      </a>
      <nav class="rail" aria-label="Workspaces">
        <ul>
          {s.workspaces.map((w) => (
            <li key={w.id}>
              <button
                class={`ws ${w.id === s.wsId ? 'active' : ''}`}
                aria-current={w.id === s.wsId ? 'true' : undefined}
                aria-label={`Workspace ${w.name}`}
                title={w.name}
                onClick={() => {
                  setNavOpen(false);
                  app.navigate({ name: 'workspace', wsId: w.id });
                }}
              >
                {initials(w.name)}
              </button>
            </li>
          ))}
          <li>
            <button class="ws add" aria-label="Create a workspace" title="Create a workspace" onClick={() => setNewWs(true)}>
              +
            </button>
          </li>
        </ul>
      </nav>
      <Sidebar onNavigate={() => setNavOpen(false)} />
      {navOpen && <div class="scrim" onClick={() => setNavOpen(false)} />}
      <main id="main" class="main" tabIndex={-1}>
        <TopBar navOpen={navOpen} onMenu={() => setNavOpen(!navOpen)} />
        {s.current ? <PlaceView key={s.current} placeKey={s.current} /> : <EmptyMain />}
      </main>
      {s.thread ? <ThreadPanel key={s.thread.parentId} /> : s.search ? <SearchPanel /> : s.notesPanel ? <NotesPanel key={s.notesPanel} /> : null}
      {!s.connected && s.phase === 'ready' && (
        <div class="status-bar" role="status">
          {!s.online ? 'You are offline. Messages you send will go out when you are back.' : s.wasConnected ? 'Reconnecting…' : 'Connecting…'}
        </div>
      )}
      {s.notice && (
        <div class="toast" role="alert">
          {s.notice}
          <button class="icon" aria-label="Dismiss" onClick={() => app.notify(null)}>
            ×
          </button>
        </div>
      )}
      {newWs && (
        <Dialog title="New workspace" onClose={() => setNewWs(false)}>
          <CreateWorkspace onDone={() => setNewWs(false)} />
        </Dialog>
      )}
    </div>
  );
}

function EmptyMain() {
  return (
    <div class="center">
      <p>Create a channel, or browse the workspace's channels, from the sidebar to start talking.</p>
    </div>
  );
}

export function initials(name: string): string {
  const w = name.trim().split(/\s+/);
  return ((w[0]?.[0] ?? '?') + (w[1]?.[0] ?? '')).toUpperCase();
}
