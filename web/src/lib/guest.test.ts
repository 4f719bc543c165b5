import { describe, expect, it } from 'vitest';
import { joinLink, LinkError, linkInfo } from './guest';

const json = (status: number, v: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('a share link page', () => {
  const base = 'https://h/clap/s/TOKEN/?vid=m1';

  it('asks its own API, below the link', async () => {
    let url = '';
    const info = await linkInfo(base, (async (u: URL) => {
      url = String(u);
      return json(200, { needs_passphrase: true, permission: 'view', kind: 'media', expires: '2030-01-01T00:00:00Z', guest: null });
    }) as unknown as typeof fetch);
    expect(url).toBe('https://h/clap/s/TOKEN/api/guest');
    expect(info).toEqual({ needsPassphrase: true, permission: 'view', kind: 'media', expires: new Date('2030-01-01T00:00:00Z'), guest: null });
  });

  it('joins, and reads the guest', async () => {
    let body = '';
    const info = await joinLink(base, 'Ann', 'pw', (async (_u: URL, init: RequestInit) => {
      body = String(init.body);
      return json(200, { needs_passphrase: false, permission: 'comment', kind: 'media', guest: { name: 'Ann', display_name: 'Ann (guest)', media_file_id: 'm1', title: 'Clip' } });
    }) as unknown as typeof fetch);
    expect(JSON.parse(body)).toEqual({ name: 'Ann', passphrase: 'pw' });
    expect(info.guest).toEqual({ name: 'Ann', displayName: 'Ann (guest)', permission: 'comment', mediaFileId: 'm1', folderId: '', title: 'Clip' });
  });

  it.each([
    [410, { error: 'This share link has been revoked.' }, {}, true, 0],
    [404, { error: 'This share link does not exist.' }, {}, true, 0],
    [401, { error: 'Wrong passphrase.' }, {}, false, 0],
    [429, { error: 'Too many wrong passphrases. Try again in 42 seconds.' }, { 'Retry-After': '42' }, false, 42],
  ])('HTTP %i is a clear error', async (status, body, headers, final, retry) => {
    const err = await joinLink(base, 'Ann', 'x', (async () => json(status, body, headers)) as unknown as typeof fetch).catch((e) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect([err.message, err.final, err.retryAfter]).toEqual([body.error, final, retry]);
  });
});
