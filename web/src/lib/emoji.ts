// Custom emoji: a workspace's images, used in reactions as `:name:` (the
// reaction API takes any emoji or `:shortcode:` of at most 64 characters
// without spaces; svc-messaging `domain::emoji`).
import type { Emoji } from '../api/client';

/** What svc-files accepts as a name (it lower-cases first). */
export const EMOJI_NAME = /^[a-z0-9_-]{2,32}$/;
export const MAX_EMOJI_BYTES = 256 * 1024;
export const EMOJI_TYPES = ['image/png', 'image/gif'];

/** The custom name in a `:name:` reaction, or null for a Unicode emoji. */
export function shortcodeName(emoji: string): string | null {
  const m = /^:([a-z0-9_-]{2,32}):$/i.exec(emoji.trim());
  return m ? m[1].toLowerCase() : null;
}

export const shortcode = (name: string) => `:${name}:`;

/** The custom emoji a reaction names, if the workspace has it. */
export function findCustom(list: readonly Emoji[], emoji: string): Emoji | undefined {
  const name = shortcodeName(emoji);
  return name ? list.find((e) => e.name === name) : undefined;
}

/** Why a chosen name or file cannot be uploaded, before asking the server; null when fine. */
export function emojiProblem(name: string, file: { size: number; type: string } | null): string | null {
  const n = name.trim().replace(/^:|:$/g, '').toLowerCase();
  if (!EMOJI_NAME.test(n)) return 'Use 2 to 32 letters, digits, _ or - for the name.';
  if (!file) return 'Choose a PNG or GIF image.';
  if (file.type && !EMOJI_TYPES.includes(file.type)) return 'Only PNG or GIF images can be custom emoji.';
  if (file.size > MAX_EMOJI_BYTES) return 'The image is over 256 KB.';
  return null;
}

export const normalizeEmojiName = (name: string) => name.trim().replace(/^:|:$/g, '').toLowerCase();
