import { describe, expect, it } from 'vitest';
import type { Comment } from '../../proto/common';
import { Dispatcher } from './dispatch';
import { SessionStore } from './session.svelte';

const by = (userId?: string) => ({ id: '1', mediaFileId: 'm', comment: 'x', userId }) as Comment;

describe('SessionStore', () => {
  it.each([
    ['nobody yet', null, false, 'alice', false],
    ['the author', { id: 'alice', name: 'Alice' }, false, 'alice', true],
    ['someone else', { id: 'bob', name: 'Bob' }, false, 'alice', false],
    ['an admin', { id: 'root', name: '' }, true, 'alice', true],
    ['an author-less comment', { id: 'bob', name: 'Bob' }, false, undefined, false],
  ])('may %s edit? ', (_, user, isAdmin, author, want) => {
    const d = new Dispatcher();
    const s = new SessionStore(d, () => {});
    if (user) d.dispatch({ welcome: { user, isAdmin, serverVersion: '1' } });
    expect(s.canEdit(by(author))).toBe(want);
  });

  it('knows itself by name or id; an empty name falls back to the id', () => {
    const d = new Dispatcher();
    const s = new SessionStore(d, () => {});
    expect(s.isMe('alice')).toBe(false);
    d.dispatch({ welcome: { user: { id: 'alice', name: '' }, isAdmin: false, serverVersion: '1' } });
    expect(s.user).toEqual({ id: 'alice', name: 'alice' });
    d.dispatch({ welcome: { user: { id: 'alice', name: 'Alice A.' }, isAdmin: false, serverVersion: '1' } });
    expect([s.isMe('alice'), s.isMe('Alice A.'), s.isMe('bob')]).toEqual([true, true, false]);
  });
});

describe('SessionStore for a guest', () => {
  const guest = (permission: 'view' | 'comment' | 'download') => ({
    name: 'Ann', displayName: 'Ann (guest)', permission, mediaFileId: 'm', folderId: '', title: 'Clip',
  });
  const comment = (userId: string | undefined, usernameIfnull: string) => ({ id: '1', mediaFileId: 'm', comment: 'x', userId, usernameIfnull }) as Comment;

  it.each([
    ['view', false, false],
    ['comment', true, false],
    ['download', true, true],
  ] as const)('%s: comment %s, download %s, never manage', (level, canComment, canDownload) => {
    const s = new SessionStore(new Dispatcher(), () => {}, guest(level));
    expect([s.canComment, s.canDownload, s.canManage]).toEqual([canComment, canDownload, false]);
  });

  it('edits only its own comments, and never is an admin', () => {
    const d = new Dispatcher();
    const s = new SessionStore(d, () => {}, guest('comment'));
    d.dispatch({ welcome: { user: { id: 'guest:L:1', name: 'Ann (guest)' }, isAdmin: true, serverVersion: '1' } });
    expect(s.isAdmin).toBe(false);
    expect(s.canEdit(comment(undefined, 'Ann (guest)'))).toBe(true);
    expect(s.canEdit(comment(undefined, 'Bob (guest)'))).toBe(false);
    expect(s.canEdit(comment('alice', 'Ann (guest)'))).toBe(false);
    expect(new SessionStore(new Dispatcher(), () => {}, guest('view')).canEdit(comment(undefined, 'Ann (guest)'))).toBe(false);
  });

  it('a user has every right; shares their own files (an admin: anyone\'s)', () => {
    const d = new Dispatcher();
    const s = new SessionStore(d, () => {});
    expect([s.canComment, s.canDownload, s.canManage, s.guest]).toEqual([true, true, true, null]);
    d.dispatch({ welcome: { user: { id: 'alice', name: 'Alice' }, isAdmin: false, serverVersion: '1' } });
    expect([s.canShare('alice'), s.canShare('bob')]).toEqual([true, false]);
    d.dispatch({ welcome: { user: { id: 'root', name: 'Root' }, isAdmin: true, serverVersion: '1' } });
    expect(s.canShare('bob')).toBe(true);
    expect(new SessionStore(new Dispatcher(), () => {}, guest('download')).canShare('')).toBe(false);
  });
});
