// Wording for the sessions list and the two-factor setup.

/** "Chrome on Linux" from a User-Agent header; the raw text when it is unfamiliar. */
export function describeAgent(ua: string | null | undefined): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /(Chrome|Chromium|HeadlessChrome)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : null;
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /Linux|X11/.test(ua)
            ? 'Linux'
            : null;
  if (!browser) return ua.length > 60 ? ua.slice(0, 57) + '…' : ua;
  return os ? `${browser} on ${os}` : browser;
}

/** A base32 secret in groups of four, easier to type into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

/** The account an otpauth:// URI names ("OComms:ann@example.com"), or null. */
export function otpauthLabel(uri: string): string | null {
  const m = /^otpauth:\/\/totp\/([^?]+)/.exec(uri);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/** A six-digit code as typed (spaces and dashes dropped), or a backup code kept as is. */
export function normalizeCode(code: string): string {
  const t = code.trim();
  return /^[\d\s-]+$/.test(t) ? t.replace(/[\s-]/g, '') : t;
}
