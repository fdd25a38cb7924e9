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

  it('reads the reset link of the password email', () => {
    expect(parseRoute('/reset-password', '?token=t0k_EN-1')).toEqual({ name: 'reset', token: 't0k_EN-1' });
    expect(parseRoute('/reset-password')).toEqual({ name: 'reset', token: '' });
    const path = routePath({ name: 'reset', token: 'a b' });
    const [p, q] = path.split('?');
    expect(parseRoute(p, `?${q}`)).toEqual({ name: 'reset', token: 'a b' });
  });

  it('does not crash on a malformed percent-encoding', () => {
    expect(parseRoute('/invite/%E0%A4%A')).toEqual({ name: 'invite', token: '%E0%A4%A' });
  });

  it('treats unknown paths as home', () => {
    expect(parseRoute('/nope')).toEqual({ name: 'home' });
    expect(parseRoute('/invite/')).toEqual({ name: 'home' });
  });
});
