// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserMessage_Type, type UserMessage } from '../../proto/common';
import { toasts } from '../toasts.svelte';
import { Dispatcher } from './dispatch';
import { MessagesStore } from './messages.svelte';

const NOW = new Date('2026-05-01T12:00:00Z').getTime();
const m = (over: Partial<UserMessage>): UserMessage => ({ type: UserMessage_Type.OK, message: 'hello', seen: false, ...over }) as UserMessage;

describe('MessagesStore', () => {
  let d: Dispatcher;
  let store: MessagesStore;
  const say = (...msgs: UserMessage[]) => d.dispatch({ showMessages: { msgs } });

  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
    localStorage.clear();
    toasts.list = [];
    d = new Dispatcher();
    store = new MessagesStore(d, () => {});
  });
  afterEach(() => vi.useRealTimers());

  it('routes by type first, then by claim; the rest are notices, newest first', () => {
    const got: string[] = [];
    store.handle(UserMessage_Type.PROGRESS, (x) => got.push(`progress:${x.message}`));
    store.claim((x) => x.message.startsWith('collab:') && got.push(`claimed:${x.message}`) > 0);
    // A claim never sees a typed message, even one it would take.
    say(m({ type: UserMessage_Type.PROGRESS, message: 'collab: 50 %' }), m({ message: 'collab: joined' }), m({ id: '1', message: 'first' }), m({ id: '2', message: 'second' }));
    expect(got).toEqual(['progress:collab: 50 %', 'claimed:collab: joined']);
    expect(store.list.map((x) => x.message)).toEqual(['second', 'first']);
  });

  it('one owner per type', () => {
    store.handle(UserMessage_Type.MEDIA_FILE_ADDED, () => {});
    expect(() => store.handle(UserMessage_Type.MEDIA_FILE_ADDED, () => {})).toThrow(/MEDIA_FILE_ADDED already have an owner/);
  });

  it('a repeated id replaces the old notice; live ones are stamped on arrival; the list is bounded', () => {
    say(m({ id: '7', message: 'old' }), m({ message: 'live' }), m({ id: '7', message: 'new' }));
    expect(store.list.map((x) => x.message)).toEqual(['new', 'live']);
    expect(store.list[1].created?.getTime()).toBe(NOW);
    say(...Array.from({ length: 600 }, (_, i) => m({ id: `n${i}`, message: `n${i}`, seen: true })));
    expect(store.list).toHaveLength(500);
    expect(store.list[0].message).toBe('n599');
  });

  it('toasts only new, recent notices, and tells the hooks which', () => {
    const fresh: [string, boolean][] = [];
    store.onNotice((x, f) => fresh.push([x.message, f]));
    say(
      m({ message: 'now', created: new Date(NOW - 5_000) }),
      m({ message: 'seen', seen: true }),
      m({ message: 'yesterday', created: new Date(NOW - 86_400_000) }),
      m({ message: 'failed', type: UserMessage_Type.ERROR, details: 'disk full', refs: { mediaFileId: 'abc' } }),
    );
    expect(fresh).toEqual([['now', true], ['seen', false], ['yesterday', false], ['failed', true]]);
    expect(toasts.list.map((t) => [t.kind, t.text, t.details])).toEqual([['info', 'now', undefined], ['error', 'abc: failed', 'disk full']]);
  });

  it('counts notices newer than the last look, and remembers the look', () => {
    say(m({ message: 'a', created: new Date(NOW - 1000) }), m({ message: 'b', created: new Date(NOW - 500) }), m({ message: 'c', seen: true }));
    expect(store.unseen).toBe(2);
    store.markSeen();
    expect(store.unseen).toBe(0);
    vi.advanceTimersByTime(1000);
    say(m({ message: 'd' }));
    expect(store.unseen).toBe(1);
    const again = new MessagesStore(new Dispatcher(), () => {});
    expect(again.lastSeenAt).toBe(NOW);
  });

  it('reload asks the server for the messages', () => {
    const sent: object[] = [];
    new MessagesStore(d, (c) => sent.push(c)).reload();
    expect(sent).toEqual([{ listMyMessages: {} }]);
  });
});
