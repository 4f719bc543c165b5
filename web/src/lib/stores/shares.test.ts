// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { describeLink, SharesStore, type ShareLink } from './shares.svelte';

/** A fake /api/shares: records requests, answers from a list. */
function fakeApi() {
  const calls: { method: string; url: string; body?: Record<string, string> }[] = [];
  let links: ShareLink[] = [];
  const link = (id: string, extra: Partial<ShareLink> = {}): ShareLink => ({
    id, permission: 'comment', has_passphrase: false, label: '', created_by: 'alice', created: '2030-01-01T00:00:00Z',
    state: 'active', guests: 0, media_file_id: 'm1', ...extra,
  });
  const json = (status: number, v: unknown) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    if (method === 'GET') return json(200, { links });
    if (method === 'POST') {
      if (body.passphrase === 'bad') return json(400, { error: 'the passphrase must have at least 6 characters' });
      const l = link('L' + (links.length + 1), { label: body.label, has_passphrase: !!body.passphrase });
      links = [l, ...links];
      return json(201, { link: l, token: l.id + 'SECRET', path: `s/${l.id}SECRET/` });
    }
    if (method === 'DELETE') {
      links = links.map((l) => (url.endsWith('/' + l.id) ? { ...l, state: 'revoked' as const } : l));
      return json(200, {});
    }
    return json(405, { error: 'no' });
  }) as typeof fetch;
  return { calls, fetcher, link };
}

describe('SharesStore', () => {
  beforeEach(() => localStorage.clear());

  it('makes a link, remembers its URL (relative to the app), lists and revokes it', async () => {
    const api = fakeApi();
    const s = new SharesStore({ mediaFileId: 'm1', title: 'Clip' }, 'https://h/clap/api/shares', 'https://h/clap/', api.fetcher);
    await s.load();
    expect(api.calls[0]).toEqual({ method: 'GET', url: 'https://h/clap/api/shares?media_file_id=m1', body: undefined });
    expect(s.links).toEqual([]);
    const exp = new Date('2031-02-03T04:05:06.789Z');
    expect(await s.create({ permission: 'download', passphrase: 'secret words', expires: exp, label: ' agency ' })).toBe(true);
    expect(api.calls[1].body).toEqual({ permission: 'download', label: 'agency', media_file_id: 'm1', passphrase: 'secret words', expires: '2031-02-03T04:05:06Z' });
    expect(s.created?.url).toBe('https://h/clap/s/L1SECRET/');
    expect(s.links.map((l) => l.id)).toEqual(['L1']);
    expect(s.urlOf('L1')).toBe('https://h/clap/s/L1SECRET/');
    // Another dialog in the same browser can copy it again.
    expect(new SharesStore({ mediaFileId: 'm1', title: 'Clip' }, '', '', api.fetcher).urlOf('L1')).toBe('https://h/clap/s/L1SECRET/');
    expect(await s.revoke('L1')).toBe(true);
    expect(api.calls.at(-2)).toMatchObject({ method: 'DELETE', url: 'https://h/clap/api/shares/L1' });
    expect(s.links[0].state).toBe('revoked');
    expect(s.urlOf('L1')).toBeNull();
    expect(s.created).toBeNull();
  });

  it("shows the server's reason when it refuses", async () => {
    const api = fakeApi();
    const s = new SharesStore({ mediaFileId: 'm1', title: 'Clip' }, 'https://h/api/shares', 'https://h/', api.fetcher);
    expect(await s.create({ permission: 'view', passphrase: 'bad', expires: null, label: '' })).toBe(false);
    expect(s.error).toBe('Cannot make the link: the passphrase must have at least 6 characters');
    expect(s.created).toBeNull();
  });

  it('a folder link names the folder and its title', async () => {
    const api = fakeApi();
    const s = new SharesStore({ folderId: '12', title: 'Cuts' }, 'https://h/api/shares', 'https://h/', api.fetcher);
    await s.create({ permission: 'view', passphrase: '', expires: null, label: '' });
    expect(api.calls[0].body).toEqual({ permission: 'view', label: '', folder_id: '12', folder_title: 'Cuts' });
    expect(api.calls[1].url).toBe('https://h/api/shares?folder_id=12');
  });

  it('describes a link', () => {
    const { link } = fakeApi();
    const now = new Date('2030-01-01T00:00:00Z');
    expect(describeLink(link('a', { has_passphrase: true, expires: '2030-01-08T00:00:00Z', guests: 1 }), now)).toBe('View and comment · passphrase · expires in 7 days · 1 guest');
    expect(describeLink(link('b', { permission: 'view', state: 'revoked', guests: 3 }), now)).toBe('View · revoked · 3 guests');
    expect(describeLink(link('c', { permission: 'download' }), now)).toBe('View, comment and download · never expires · 0 guests');
  });
});
