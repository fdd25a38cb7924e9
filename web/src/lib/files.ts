// Attachments: what the server accepts (POST /api/upload/attachment: 25 MB
// of JPEG, PNG, GIF, WebP or PDF, told by the bytes), checks worth doing
// before uploading, and the words for what went wrong.
import { ApiError } from '../api/client';

export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
export const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'application/pdf'] as const;
/** For the file input's `accept`. */
export const ACCEPT = ACCEPTED_TYPES.join(',');

export function isImage(mimeType: string | null | undefined): boolean {
  return !!mimeType && mimeType.startsWith('image/');
}

export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 ? Math.round(n) : Math.round(n * 10) / 10} ${units[i]}`;
}

/**
 * Why a file cannot be uploaded, before trying: too big, or a declared type
 * the server refuses. An empty declared type is left to the server (it
 * looks at the bytes anyway).
 */
export function precheck(f: { name: string; size: number; type: string }): string | null {
  if (f.size > MAX_ATTACHMENT_BYTES) return `${f.name} is too large (${formatSize(f.size)}; at most 25 MB).`;
  if (f.size === 0) return `${f.name} is empty.`;
  if (f.type && !(ACCEPTED_TYPES as readonly string[]).includes(f.type)) {
    return `${f.name}: only images (JPEG, PNG, GIF, WebP) and PDF files can be attached.`;
  }
  return null;
}

/** The server's refusal of an upload, in words for the person who tried. */
export function uploadError(e: unknown, filename: string): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'FILE_TOO_LARGE':
        return `${filename} is too large (at most 25 MB).`;
      case 'QUOTA_EXCEEDED':
        return `${filename} was not uploaded: the storage quota is used up.`;
      case 'INVALID_FILE_TYPE':
        return `${filename}: only images (JPEG, PNG, GIF, WebP) and PDF files can be attached.`;
      case 'NETWORK':
        return `${filename} was not uploaded: you are offline.`;
      default:
        return `${filename} was not uploaded: ${e.message}`;
    }
  }
  return `${filename} was not uploaded.`;
}
