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
