import { useEffect, useRef } from 'preact/hooks';
import { app, authorName, conversationName, useApp } from '../state/app';
import { Highlight } from './Highlight';
import { time } from './MessageItem';

/** Search results beside the messages; each opens its place at the message (or its thread). */
export function SearchPanel() {
  const s = useApp();
  const ref = useRef<HTMLElement>(null);
  const r = s.search!;
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [r.query]);
  return (
    <aside
      class="thread search-panel"
      aria-label="Search results"
      ref={ref}
      onKeyDown={(e) => {
        if (e.key === 'Escape') app.closeSearch();
      }}
    >
      <header class="place-header">
        <h2 tabIndex={-1}>Search</h2>
        <button class="icon close" aria-label="Close search" onClick={() => app.closeSearch()}>
          ×
        </button>
      </header>
      <p class="muted search-query">
        {r.loading ? 'Searching for ' : `${r.results.length} ${r.results.length === 1 ? 'result' : 'results'} for `}
        <q>{r.query}</q>
      </p>
      <div role="status" class="sr-only">
        {r.loading ? 'Searching…' : `${r.results.length} results`}
      </div>
      {r.error && (
        <p class="error search-query" role="alert">
          {r.error}
        </p>
      )}
      <ul class="results messages">
        {r.results.map((x) => {
          const m = x.message;
          const conv = m.conversationId ? s.conversations.find((c) => c.id === m.conversationId) : undefined;
          const where = m.channelId ? `#${x.channelName ?? s.channels.find((c) => c.id === m.channelId)?.name ?? 'channel'}` : conv ? conversationName(s, conv) : 'Direct message';
          return (
            <li key={m.id}>
              <button class="result" data-result={m.id} onClick={() => void app.openSearchResult(x)}>
                <span class="where">
                  {where}
                  {m.parentId ? ' · in a thread' : ''}
                </span>
                <span class="who">
                  <span class="author">{authorName(s, m.authorId)}</span>{' '}
                  <time class="muted" dateTime={m.createdAt}>
                    {m.createdAt ? new Date(m.createdAt).toLocaleDateString() : ''} {time(m.createdAt)}
                  </time>
                </span>
                <span class="excerpt">
                  <Highlight html={x.highlight} />
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
