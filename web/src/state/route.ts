// Client routes: /, /w/<workspace>, /w/<workspace>/c/<channel>,
// /w/<workspace>/d/<conversation>, /invite/<token>, and
// /reset-password?token=<token> (the link of the password-reset email). The
// gateway answers index.html for any of them.
export type Route =
  | { name: 'home' }
  | { name: 'workspace'; wsId: string }
  | { name: 'place'; wsId: string; kind: 'channel' | 'conversation'; id: string }
  | { name: 'invite'; token: string }
  | { name: 'reset'; token: string };

/** A path segment decoded, or as it is when it is not valid percent-encoding. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function parseRoute(pathname: string, search = ''): Route {
  const parts = pathname.split('/').filter(Boolean).map(decode);
  if (parts[0] === 'reset-password' && parts.length === 1) {
    return { name: 'reset', token: new URLSearchParams(search).get('token') ?? '' };
  }
  if (parts[0] === 'invite' && parts[1]) return { name: 'invite', token: parts[1] };
  if (parts[0] === 'w' && parts[1]) {
    if ((parts[2] === 'c' || parts[2] === 'd') && parts[3]) {
      return { name: 'place', wsId: parts[1], kind: parts[2] === 'c' ? 'channel' : 'conversation', id: parts[3] };
    }
    return { name: 'workspace', wsId: parts[1] };
  }
  return { name: 'home' };
}

export function routePath(r: Route): string {
  const e = encodeURIComponent;
  switch (r.name) {
    case 'home':
      return '/';
    case 'invite':
      return `/invite/${e(r.token)}`;
    case 'reset':
      return `/reset-password?token=${e(r.token)}`;
    case 'workspace':
      return `/w/${e(r.wsId)}`;
    case 'place':
      return `/w/${e(r.wsId)}/${r.kind === 'channel' ? 'c' : 'd'}/${e(r.id)}`;
  }
}
