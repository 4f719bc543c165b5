// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UserMessage } from '../../proto/common';
import { UserMessage_Type } from '../../proto/common';
import { Dispatcher } from './dispatch';
import { MessagesStore } from './messages.svelte';
import { PROGRESS_TTL_MS, ProgressStore } from './progress.svelte';

const msg = (type: UserMessage_Type, message: string, mediaFileId?: string, progress?: number): UserMessage =>
  ({ type, message, refs: mediaFileId ? { mediaFileId } : undefined, progress, seen: false }) as UserMessage;

describe('ProgressStore', () => {
  let d: Dispatcher;
  let messages: MessagesStore;
  let progress: ProgressStore;
  const say = (...msgs: UserMessage[]) => d.dispatch({ showMessages: { msgs } });

  beforeEach(() => {
    vi.useFakeTimers();
    localStorage.clear();
    d = new Dispatcher();
    messages = new MessagesStore(d, () => {});
    progress = new ProgressStore(messages);
  });
  afterEach(() => vi.useRealTimers());

  it('keeps the latest report per media file; reports are not notices', () => {
    say(msg(UserMessage_Type.PROGRESS, 'Transcoding', 'a', 0.1), msg(UserMessage_Type.PROGRESS, 'Thumbnails', 'b'));
    say(msg(UserMessage_Type.PROGRESS, 'Transcoding', 'a', 0.6));
    say(msg(UserMessage_Type.PROGRESS, 'Lost', undefined, 0.5));
    expect(progress.of('a')).toMatchObject({ msg: 'Transcoding', progress: 0.6 });
    expect(progress.of('b')).toMatchObject({ msg: 'Thumbnails', progress: undefined });
    expect(Object.keys(progress.byMedia).sort()).toEqual(['a', 'b']);
    expect(messages.list).toEqual([]);
  });

  it('a finished report removes the file', () => {
    say(msg(UserMessage_Type.PROGRESS, 'Transcoding', 'a', 0.9));
    say(msg(UserMessage_Type.PROGRESS, 'Transcoding', 'a', 1));
    expect(progress.of('a')).toBeUndefined();
  });

  it('a notice carrying progress counts too, and is listed', () => {
    say(msg(UserMessage_Type.OK, 'Transcoding done', 'a', 0.99));
    expect(progress.of('a')?.msg).toBe('Transcoding done');
    expect(messages.list.map((m) => m.message)).toEqual(['Transcoding done']);
  });

  it('drops a report without news for the TTL, keeps one with news', () => {
    say(msg(UserMessage_Type.PROGRESS, 'Stalled', 'a', 0.2), msg(UserMessage_Type.PROGRESS, 'Busy', 'b', 0.2));
    vi.advanceTimersByTime(PROGRESS_TTL_MS - 10_000);
    say(msg(UserMessage_Type.PROGRESS, 'Busy', 'b', 0.4));
    vi.advanceTimersByTime(10_200);
    expect(progress.of('a')).toBeUndefined();
    expect(progress.of('b')?.progress).toBe(0.4);
    vi.advanceTimersByTime(PROGRESS_TTL_MS);
    expect(progress.byMedia).toEqual({});
  });
});
