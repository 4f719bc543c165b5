// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { MediaFile } from '../../proto/common';
import { Drawing } from '../drawing.svelte';
import { PlayerController } from '../player.svelte';
import type { Command } from '../protocol';
import { MediaStore } from './media.svelte';

const mf = (id: string, subs: string[], extra: Partial<MediaFile> = {}): MediaFile =>
  ({ id, title: id, mediaType: 'video', userId: 'u', playbackUrl: `v/${id}.mp4`, subtitles: subs.map((s) => ({ id: s, title: s })), ...extra }) as unknown as MediaFile;

describe('MediaStore', () => {
  let media: MediaStore;
  let player: PlayerController;
  let drawing: Drawing;
  let sent: Command[];
  let switches: (string | null)[];
  let chosen: number;

  beforeEach(() => {
    localStorage.clear();
    sent = [];
    switches = [];
    chosen = 0;
    player = new PlayerController();
    drawing = new Drawing();
    media = new MediaStore(player, drawing, (c) => sent.push(c));
    media.onSwitch((id) => switches.push(id));
    media.onSubtitleChosen = () => chosen++;
  });

  it('another file starts afresh: its frame rate, its default subtitles, no drawing', () => {
    drawing.show('data:image/webp;base64,AAAA');
    media.show(mf('a', ['s1', 's2'], { defaultSubtitleId: 's2', duration: { duration: 1, totalFrames: 30, fps: '30' } }));
    expect([media.subtitleId, media.subtitle?.id, player.rate.fps, drawing.mode, switches]).toEqual(['s2', 's2', 30, 'off', ['a']]);
    media.show(mf('b', ['s1'], { defaultSubtitleId: 'gone' }));
    expect([media.subtitleId, media.subtitle, player.rate.fps, switches]).toEqual([null, null, 25, ['a', 'b']]);
  });

  it('the same file updated keeps the chosen subtitles while they exist', () => {
    media.show(mf('a', ['s1', 's2']));
    media.selectSubtitle('s1');
    media.show(mf('a', ['s1', 's2'], { title: 'Renamed' }));
    expect([media.file?.title, media.subtitleId, switches]).toEqual(['Renamed', 's1', ['a']]);
    media.show(mf('a', ['s2']));
    expect(media.subtitleId).toBeNull();
  });

  it('close clears the file and tells the others', () => {
    media.show(mf('a', ['s1'], { defaultSubtitleId: 's1' }));
    media.close();
    expect([media.file, media.subtitleId, switches]).toEqual([null, null, ['a', null]]);
  });

  it('subtitle commands: choosing is mirrored, deleting the shown track hides it first', () => {
    media.show(mf('a', ['s1', 's2']));
    media.selectSubtitle('s1');
    media.addSubtitle('fi.srt', 'MQ==');
    media.editSubtitle({ id: 's2', title: 'Finnish', languageCode: 'fi', timeOffset: 0.5, isDefault: true });
    media.delSubtitle('s2');
    expect(media.subtitleId).toBe('s1');
    media.delSubtitle('s1');
    expect([media.subtitleId, chosen]).toEqual([null, 2]);
    expect(sent).toEqual([
      { addSubtitle: { mediaFileId: 'a', fileName: 'fi.srt', contentsBase64: 'MQ==' } },
      { editSubtitleInfo: { id: 's2', title: 'Finnish', languageCode: 'fi', timeOffset: 0.5, isDefault: true } },
      { delSubtitle: { id: 's2' } },
      { delSubtitle: { id: 's1' } },
    ]);
  });

  it('a new MP4 or a finished ladder for the open file carries on from the same time', () => {
    const video = document.createElement('video');
    player.attach(video);
    media.show(mf('a', []));
    Object.defineProperty(video, 'currentTime', { value: 4.2, configurable: true });
    media.show(mf('a', [], { title: 'Renamed' }));
    expect(player.resumeAt).toBeNull();
    media.show(mf('a', [], { hlsUrl: 'videos/a/hls/master.m3u8' }));
    expect(player.resumeAt).toBe(4.2);
    player.resumeAt = null;
    media.show(mf('a', [], { hlsUrl: 'videos/a/hls/master.m3u8', playbackUrl: 'videos/a/video.mp4' }));
    expect(player.resumeAt).toBe(4.2);
  });
});
