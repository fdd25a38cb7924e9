import { describe, expect, it } from 'vitest';
import { parseRoute, routePath } from '../src/state/route';

describe('client routes', () => {
  it('round-trips every route', () => {
    for (const r of [
      { name: 'home' },
      { name: 'workspace', wsId: 'w1' },
      { name: 'place', wsId: 'w1', kind: 'channel', id: 'c1' },
      { name: 'place', wsId: 'w1', kind: 'conversation', id: 'd1' },
      { name: 'invite', token: 'abc_DEF-123' },
    ] as const) {
      expect(parseRoute(routePath(r))).toEqual(r);
    }
  });

  it('treats unknown paths as home', () => {
    expect(parseRoute('/nope')).toEqual({ name: 'home' });
    expect(parseRoute('/invite/')).toEqual({ name: 'home' });
  });
});
