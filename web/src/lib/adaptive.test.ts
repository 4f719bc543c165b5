import { describe, expect, it } from 'vitest';
import { describeError, qualities, qualityName } from './adaptive.svelte';

describe('adaptive ladder helpers', () => {
  it('names renditions by their short side, as the server does', () => {
    expect([qualityName(1920, 1080), qualityName(1080, 1920), qualityName(640, 360), qualityName(0, 240)]).toEqual(['1080p', '1080p', '360p', '240p']);
  });

  it('lists the renditions best first, keeping hls.js level indexes', () => {
    const levels = [
      { width: 640, height: 360, bitrate: 800_000 },
      { width: 1920, height: 1080, bitrate: 5_000_000 },
      { width: 1280, height: 720, bitrate: 2_800_000 },
    ];
    expect(qualities(levels).map((q) => [q.name, q.index])).toEqual([['1080p', 1], ['720p', 2], ['360p', 0]]);
  });

  it('says why the ladder failed', () => {
    expect(describeError({ type: 'networkError', details: 'manifestLoadError', response: { code: 404, text: '' } } as never)).toBe('manifestLoadError (HTTP 404)');
    expect(describeError({ type: 'mediaError', details: 'bufferAppendError' } as never)).toBe('mediaError: bufferAppendError');
  });
});
