// The version stack of the open media file (our extension): switching
// versions from where the playhead is, uploading a new version, and the
// comments of earlier versions, shown faded beside the file's own.
import type { Comment, VersionStack, VersionStack_Version } from '../../proto/common';
import type { PlayerController } from '../player.svelte';
import type { Dispatcher, Send } from './dispatch';
import type { MediaStore } from './media.svelte';

const OLDER_KEY = 'clapshot_older_comments';

export interface VersionsDeps {
  dispatcher: Dispatcher;
  media: MediaStore;
  player: PlayerController;
  send: Send;
  /** Opens another media file (navigation). */
  open: (mediaFileId: string) => void;
}

/** A comment of an earlier version, with that version's number. */
export interface OlderComment {
  c: Comment;
  version: number;
}

export class VersionsStore {
  /** Whether earlier versions' comments are shown (remembered). */
  showOlder = $state(false);
  /** Their comments, newest version first, then by arrival. */
  older = $state.raw<OlderComment[]>([]);

  constructor(private d: VersionsDeps) {
    this.showOlder = localStorage.getItem(OLDER_KEY) === '1';
    d.dispatcher.on('addComments', (ac) => this.take(ac.comments));
    d.dispatcher.on('delComment', (dc) => {
      this.older = this.older.filter((o) => o.c.id !== dc.commentId);
    });
    d.media.onSwitch(() => {
      this.older = [];
    });
    d.dispatcher.on('openMediaFile', (om) => {
      const mf = om.mediaFile;
      const vs = mf?.versionStack;
      if (this.showOlder && mf && vs?.versions.some((v) => v.version < vs.version)) this.request(mf.id);
    });
  }

  get stack(): VersionStack | undefined {
    return this.d.media.file?.versionStack;
  }

  /** Every version, oldest first (empty: not in a stack). */
  get versions(): VersionStack_Version[] {
    return this.stack?.versions ?? [];
  }

  /** Opens another version at the same time in the media. */
  switchTo(mediaFileId: string) {
    const cur = this.d.media.file;
    if (!cur || cur.id === mediaFileId) return;
    const p = this.d.player;
    p.resumeAt = p.video?.currentTime ?? p.time;
    p.pause(false);
    this.d.open(mediaFileId);
  }

  setShowOlder(on: boolean) {
    this.showOlder = on;
    try {
      localStorage.setItem(OLDER_KEY, on ? '1' : '0');
    } catch {
      /* not remembered */
    }
    const id = this.d.media.file?.id;
    if (on && id) this.request(id);
    else this.older = [];
  }

  /** The versions before the open one. */
  private earlier(): VersionStack_Version[] {
    const mine = this.stack?.version ?? 0;
    return this.versions.filter((v) => v.version < mine);
  }

  private request(mediaFileId: string) {
    this.d.send({ listVersionComments: { mediaFileId } });
  }

  /** Keeps the comments of earlier versions of the open file's stack. */
  private take(list: Comment[]) {
    if (!this.showOlder) return;
    const numbers = new Map(this.earlier().map((v) => [v.mediaFileId, v.version]));
    const fresh = list.filter((c) => numbers.has(c.mediaFileId));
    if (!fresh.length) return;
    const ids = new Set(fresh.map((c) => c.id));
    const merged = [...this.older.filter((o) => !ids.has(o.c.id)), ...fresh.map((c) => ({ c, version: numbers.get(c.mediaFileId)! }))];
    merged.sort((a, b) => b.version - a.version);
    this.older = merged;
  }
}
