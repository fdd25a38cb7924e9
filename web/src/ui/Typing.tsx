import { useEffect, useState } from 'preact/hooks';
import { authorName, useApp } from '../state/app';

/** "Ann is typing…": announced politely, entries expire after a few seconds. */
export function Typing({ placeKey }: { placeKey: string }) {
  const s = useApp();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1500);
    return () => clearInterval(t);
  }, []);
  const who = Object.entries(s.typing[placeKey] ?? {})
    .filter(([, until]) => until > now)
    .map(([u]) => authorName(s, u));
  const text =
    who.length === 0 ? '' : who.length === 1 ? `${who[0]} is typing…` : who.length === 2 ? `${who[0]} and ${who[1]} are typing…` : 'Several people are typing…';
  return (
    <div class="typing" aria-live="polite">
      {text}
    </div>
  );
}
