// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { parseRoute, Router, urlFor } from './router';

describe('parseRoute', () => {
  it.each([
    ['', { vid: null, collab: null, p: null, live: null }],
    ['?vid=abc', { vid: 'abc', collab: null, p: null, live: null }],
    ['?vid=abc&collab=s1', { vid: 'abc', collab: 's1', p: null, live: null }],
    ['?collab=s1', { vid: null, collab: null, p: null, live: null }],
    ['?p=f%2F2', { vid: null, collab: null, p: 'f/2', live: null }],
    ['?vid=abc&p=f2', { vid: 'abc', collab: null, p: 'f2', live: null }],
    ['?live', { vid: null, collab: null, p: null, live: '' }],
    ['?live=', { vid: null, collab: null, p: null, live: '' }],
    ['?live=0742091c-19cd-4658-9b4f-5320da160f45', { vid: null, collab: null, p: null, live: '0742091c-19cd-4658-9b4f-5320da160f45' }],
    ['?vid=abc&live', { vid: 'abc', collab: null, p: null, live: null }],
  ])('%s', (search, want) => expect(parseRoute(search)).toEqual(want));
});

describe('urlFor', () => {
  it.each([
    [{}, '/clap/'],
    [{ vid: 'abc' }, '?vid=abc'],
    [{ vid: 'abc', collab: 's1' }, '?vid=abc&collab=s1'],
    [{ collab: 's1' }, '/clap/'],
    [{ vid: 'abc', p: 'f2' }, '?vid=abc'],
    [{ p: 'f/2' }, '?p=f%2F2'],
    [{ live: '' }, '?live'],
    [{ live: 's1', p: 'f2' }, '?live=s1'],
    [{ live: null, p: 'f2' }, '?p=f2'],
    [{ vid: 'abc', live: 's1' }, '?vid=abc'],
  ])('%j -> %s', (route, want) => expect(urlFor(route, '/clap/')).toBe(want));
});

describe('Router', () => {
  beforeEach(() => history.replaceState(null, '', '/clap/'));

  it('writes history entries and reads them back', () => {
    const r = new Router();
    r.push({ vid: 'abc', collab: 's1' });
    expect([location.pathname, location.search, r.saved?.vid]).toEqual(['/clap/', '?vid=abc&collab=s1', 'abc']);
    expect(r.current()).toEqual({ vid: 'abc', collab: 's1', p: null, live: null });
    r.replace({ vid: 'abc' });
    expect(location.search).toBe('?vid=abc');
    expect(r.link({ vid: 'abc', collab: 's2' })).toBe(`${location.origin}/clap/?vid=abc&collab=s2`);
    r.push({});
    expect(location.href).toBe(`${location.origin}/clap/`);
  });

  it('tells of Back and Forward until unlistened', () => {
    const r = new Router();
    const got: unknown[] = [];
    const off = r.listen((route) => got.push(route));
    history.replaceState(null, '', '?p=f3');
    window.dispatchEvent(new PopStateEvent('popstate'));
    off();
    window.dispatchEvent(new PopStateEvent('popstate'));
    expect(got).toEqual([{ vid: null, collab: null, p: 'f3', live: null }]);
  });
});
