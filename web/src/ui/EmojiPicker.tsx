import { useEffect, useRef } from 'preact/hooks';
import { shortcode } from '../lib/emoji';
import { useEmojiList } from '../state/app';

export const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀', '🔥', '✅', '🚀', '👏'];

/** A small reaction picker (the workspace's custom emoji after the usual ones); arrow keys move, Enter picks, Escape closes. */
export function EmojiPicker({ onPick, onClose }: { onPick: (e: string) => void; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const custom = useEmojiList();
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const away = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, []);
  function onKeyDown(e: KeyboardEvent) {
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move = (d: number) => {
      e.preventDefault();
      buttons[(i + d + buttons.length) % buttons.length]?.focus();
    };
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === 'ArrowRight') move(1);
    else if (e.key === 'ArrowLeft') move(-1);
    else if (e.key === 'ArrowDown') move(6);
    else if (e.key === 'ArrowUp') move(-6);
  }
  return (
    <div class="emoji-picker" role="dialog" aria-label="Pick a reaction" ref={ref} onKeyDown={onKeyDown}>
      {EMOJI.map((e) => (
        <button key={e} type="button" aria-label={`React with ${e}`} onClick={() => onPick(e)}>
          {e}
        </button>
      ))}
      {custom.map((e) => (
        <button key={e.id} type="button" class="custom" aria-label={`React with ${shortcode(e.name)}`} title={shortcode(e.name)} onClick={() => onPick(shortcode(e.name))}>
          <img class="custom-emoji" src={e.url} alt="" width={22} height={22} />
        </button>
      ))}
    </div>
  );
}
