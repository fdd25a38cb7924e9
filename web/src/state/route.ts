// Client routes: /, /w/<workspace>, /w/<workspace>/c/<channel>,
// /w/<workspace>/d/<conversation>, /invite/<token>. The gateway answers
// index.html for any of them.
export type Route =
  | { name: 'home' }
  | { name: 'workspace'; wsId: string }
  | { name: 'place'; wsId: string; kind: 'channel' | 'conversation'; id: string }
  | { name: 'invite'; token: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
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
    case 'workspace':
      return `/w/${e(r.wsId)}`;
    case 'place':
      return `/w/${e(r.wsId)}/${r.kind === 'channel' ? 'c' : 'd'}/${e(r.id)}`;
  }
}
