// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { MediaFile } from '../../proto/common';
import { Drawing } from '../drawing.svelte';
import { PlayerController } from '../player.svelte';
import type { Command } from '../protocol';
import { CommentsStore } from './comments.svelte';
import { Dispatcher } from './dispatch';
import { MediaStore } from './media.svelte';

const mf = (id: string, subtitles: string[] = []): MediaFile =>
  ({ id, title: id, mediaType: 'video', userId: 'u', subtitles: subtitles.map((s) => ({ id: s, mediaFileId: id, title: s, languageCode: 'en', origFilename: `${s}.srt`, playbackUrl: '', origUrl: '', timeOffset: 0 })) }) as unknown as MediaFile;
const c = (id: string, mediaFileId = 'm1', comment = `c${id}`) => ({ id, mediaFileId, comment, usernameIfnull: 'u' });

describe('CommentsStore', () => {
  let d: Dispatcher;
  let media: MediaStore;
  let comments: CommentsStore;
  let sent: Command[];
  let frames: (() => void)[];
  const nextFrame = () => {
    const f = frames;
    frames = [];
    for (const fn of f) fn();
  };

  beforeEach(() => {
    d = new Dispatcher();
    sent = [];
    frames = [];
    const send = (cmd: Command) => sent.push(cmd);
    media = new MediaStore(new PlayerController(), new Drawing(), send);
    comments = new CommentsStore(d, media, send, (fn) => frames.push(fn));
    media.show(mf('m1'));
  });

  it('applies comments arriving within a frame together, once', () => {
    d.dispatch({ addComments: { comments: [c('1'), c('2')] } });
    d.dispatch({ addComments: { comments: [c('3')] } });
    d.dispatch({ addComments: { comments: [c('2', 'm1', 'edited')] } });
    expect(comments.list).toEqual([]);
    expect(frames).toHaveLength(1);
    nextFrame();
    expect(comments.list.map((x) => [x.id, x.comment])).toEqual([['1', 'c1'], ['2', 'edited'], ['3', 'c3']]);
    d.dispatch({ addComments: { comments: [c('4')] } });
    expect(frames).toHaveLength(1);
  });

  it('a deletion first applies what arrived before it', () => {
    d.dispatch({ addComments: { comments: [c('1'), c('2')] } });
    d.dispatch({ delComment: { commentId: '1' } });
    expect(comments.list.map((x) => x.id)).toEqual(['2']);
    nextFrame();
    expect(comments.list.map((x) => x.id)).toEqual(['2']);
  });

  it("keeps only the open file's comments, and starts afresh on another file", () => {
    d.dispatch({ addComments: { comments: [c('1'), c('2', 'other')] } });
    nextFrame();
    expect(comments.find('1')?.comment).toBe('c1');
    expect(comments.find('2')).toBeUndefined();
    media.show(mf('m1')); // the same file, updated: comments stay
    expect(comments.list).toHaveLength(1);
    media.show(mf('m2'));
    expect(comments.list).toEqual([]);
    d.dispatch({ addComments: { comments: [c('5', 'm2')] } });
    media.close();
    nextFrame();
    expect(comments.list).toEqual([]);
  });

  it('a new top-level comment carries the subtitles shown; a reply does not', () => {
    media.show(mf('m2', ['s1']));
    media.selectSubtitle('s1');
    comments.add({ comment: 'Look', timecode: '00:00:01:00' });
    comments.add({ comment: 'Yes', parentId: '9' });
    expect(sent).toEqual([
      { addComment: { mediaFileId: 'm2', comment: 'Look', timecode: '00:00:01:00', timecodeEnd: undefined, drawing: undefined, parentId: undefined, subtitleId: 's1' } },
      { addComment: { mediaFileId: 'm2', comment: 'Yes', timecode: undefined, timecodeEnd: undefined, drawing: undefined, parentId: '9', subtitleId: undefined } },
    ]);
  });

  it('sends nothing without an open file', () => {
    media.close();
    comments.add({ comment: 'lost?' });
    expect(sent).toEqual([]);
  });
});
