import { describe, expect, it } from 'vitest';
import type { MediaFile } from '../../proto/common';
import { CompareStore } from './compare.svelte';

class FakeMedia {
  file: MediaFile | null = null;
  hooks: ((id: string | null) => void)[] = [];
  onSwitch(fn: (id: string | null) => void) {
    this.hooks.push(fn);
  }
}

const withStack = (id: string): MediaFile =>
  ({
    id, title: id, mediaType: 'video', userId: 'u', subtitles: [],
    versionStack: { stackId: 'v1', version: id === 'v2' ? 2 : 1, count: 2, headId: 'v2', versions: [
      { mediaFileId: 'v1', version: 1, state: 'ready', title: 'Cut 1', playbackUrl: 'videos/v1/video.mp4' },
      { mediaFileId: 'v2', version: 2, state: 'ready', title: 'Cut 2', playbackUrl: 'videos/v2/video.mp4' },
    ] },
  }) as unknown as MediaFile;

describe('CompareStore', () => {
  it('compares with another version, reports it, and takes a session’s view', () => {
    const media = new FakeMedia();
    media.file = withStack('v2');
    const cmp = new CompareStore(media as never);
    let changes = 0;
    cmp.onChange = () => changes++;
    expect(cmp.candidates.map((v) => v.mediaFileId)).toEqual(['v1']);
    expect(cmp.report()).toEqual({});
    cmp.show('v1');
    expect([cmp.other, changes]).toEqual([{ id: 'v1', url: 'videos/v1/video.mp4', label: 'v1 · Cut 1' }, 1]);
    cmp.setMode('wipe');
    cmp.setWipe(1.7);
    expect(cmp.report()).toEqual({ compareMediaFileId: 'v1', compareMode: 'wipe', wipePosition: 1 });
    cmp.show('v2'); // itself: not a candidate
    expect(cmp.other).toBeNull();

    cmp.apply({ compareMediaFileId: 'v1', compareMode: 'side', wipePosition: 0.3 });
    expect([cmp.other?.id, cmp.mode, cmp.wipe, changes]).toEqual(['v1', 'side', 0.3, 4]);
    cmp.apply({ compareMode: 'bogus' });
    expect([cmp.other, cmp.mode]).toEqual([null, 'side']);
    cmp.apply({ compareMediaFileId: 'v1' });
    media.hooks.forEach((h) => h('v1'));
    expect(cmp.other).toBeNull();
  });
});
