// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { MediaFile } from '../../proto/common';
import { Drawing } from '../drawing.svelte';
import { PlayerController } from '../player.svelte';
import type { Command } from '../protocol';
import { Dispatcher } from './dispatch';
import { MediaStore } from './media.svelte';
import { VersionsStore } from './versions.svelte';

const stack = (version: number) => ({
  stackId: 'v1', version, count: 3, headId: 'v3',
  versions: [1, 2, 3].map((n) => ({ mediaFileId: `v${n}`, version: n, state: n === 3 ? 'processing' : 'ready', title: `Cut ${n}` })),
});
const mf = (id: string, version: number): MediaFile =>
  ({ id, title: id, mediaType: 'video', userId: 'u', playbackUrl: `v/${id}.mp4`, subtitles: [], versionStack: stack(version) }) as unknown as MediaFile;
const comment = (id: string, mediaFileId: string) => ({ id, mediaFileId, comment: `on ${mediaFileId}`, usernameIfnull: 'u' });

describe('VersionsStore', () => {
  let d: Dispatcher;
  let media: MediaStore;
  let player: PlayerController;
  let versions: VersionsStore;
  let sent: Command[];
  let opened: string[];

  beforeEach(() => {
    localStorage.clear();
    d = new Dispatcher();
    sent = [];
    opened = [];
    const send = (c: Command) => sent.push(c);
    player = new PlayerController();
    media = new MediaStore(player, new Drawing(), send);
    versions = new VersionsStore({ dispatcher: d, media, player, send, open: (id) => opened.push(id) });
    d.on('openMediaFile', (om) => media.show(om.mediaFile!));
  });

  it('switches to another version from the same time', () => {
    d.dispatch({ openMediaFile: { mediaFile: mf('v2', 2) } });
    expect(versions.versions.map((v) => v.mediaFileId)).toEqual(['v1', 'v2', 'v3']);
    const video = document.createElement('video');
    player.attach(video);
    Object.defineProperty(video, 'currentTime', { value: 7.5, configurable: true });
    versions.switchTo('v2');
    expect(opened).toEqual([]); // already open
    versions.switchTo('v1');
    expect([opened, player.resumeAt]).toEqual([['v1'], 7.5]);
  });

  it("keeps earlier versions' comments when asked, remembered, cleared on another file", () => {
    d.dispatch({ openMediaFile: { mediaFile: mf('v3', 3) } });
    expect(sent).toEqual([]);
    versions.setShowOlder(true);
    expect(sent).toEqual([{ listVersionComments: { mediaFileId: 'v3' } }]);
    d.dispatch({ addComments: { comments: [comment('1', 'v1')] } });
    d.dispatch({ addComments: { comments: [comment('2', 'v2'), comment('3', 'v3')] } });
    expect(versions.older.map((o) => [o.c.id, o.version])).toEqual([['2', 2], ['1', 1]]);
    d.dispatch({ delComment: { commentId: '2' } });
    expect(versions.older.map((o) => o.c.id)).toEqual(['1']);

    // From version 2, only version 1's are earlier; asked for at once.
    sent = [];
    d.dispatch({ openMediaFile: { mediaFile: mf('v2', 2) } });
    expect(versions.older).toEqual([]);
    expect(sent).toEqual([{ listVersionComments: { mediaFileId: 'v2' } }]);
    d.dispatch({ addComments: { comments: [comment('1', 'v1'), comment('4', 'v3')] } });
    expect(versions.older.map((o) => o.c.id)).toEqual(['1']);

    versions.setShowOlder(false);
    expect(versions.older).toEqual([]);
    expect(localStorage.getItem('clapshot_older_comments')).toBe('0');
  });
});
