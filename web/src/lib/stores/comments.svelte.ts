// The comments of the open media file, and the commands that change them.
// Threading and ordering for display are in ../comments.ts.
import type { Comment } from '../../proto/common';
import { upsertComments } from '../comments';
import type { Dispatcher, Send } from './dispatch';
import type { MediaStore } from './media.svelte';

export interface NewComment {
  comment: string;
  timecode?: string;
  timecodeEnd?: string;
  /** A drawing as a data URL. */
  drawing?: string;
  /** Makes it a reply. */
  parentId?: string;
}

/** Runs fn before the next repaint; returns a non-zero handle. */
export type FrameScheduler = (fn: () => void) => number;

export class CommentsStore {
  /** The open file's comments, in the order they arrived. */
  list = $state.raw<Comment[]>([]);

  /** Comments arriving one by one (an import, a busy session) are applied
   * together once per frame, not re-threaded for each. */
  private incoming: Comment[] = [];
  private incomingFrame = 0;

  constructor(
    dispatcher: Dispatcher,
    private media: MediaStore,
    private send: Send,
    private nextFrame: FrameScheduler = (fn) => requestAnimationFrame(fn),
  ) {
    dispatcher.on('addComments', (ac) => this.queue(ac.comments));
    dispatcher.on('delComment', (dc) => {
      this.flush();
      this.list = this.list.filter((c) => c.id !== dc.commentId);
    });
    media.onSwitch(() => {
      this.list = [];
    });
  }

  find(id: string): Comment | undefined {
    return this.list.find((c) => c.id === id);
  }

  /** Posts a comment on the open file; a top-level one is tied to the
   * subtitles shown. */
  add(c: NewComment) {
    const mf = this.media.file;
    if (!mf) return;
    this.send({
      addComment: {
        mediaFileId: mf.id,
        comment: c.comment,
        timecode: c.timecode,
        timecodeEnd: c.timecodeEnd,
        drawing: c.drawing,
        parentId: c.parentId,
        subtitleId: c.parentId ? undefined : (this.media.subtitleId ?? undefined),
      },
    });
  }

  edit(id: string, text: string) {
    this.send({ editComment: { commentId: id, newComment: text } });
  }

  del(id: string) {
    this.send({ delComment: { commentId: id } });
  }

  private queue(list: Comment[]) {
    this.incoming.push(...list);
    if (this.incomingFrame) return;
    this.incomingFrame = this.nextFrame(() => this.flush());
  }

  private flush() {
    this.incomingFrame = 0;
    const list = this.incoming;
    this.incoming = [];
    const mf = this.media.file;
    if (mf && list.length) this.list = upsertComments(this.list, list, mf.id);
  }
}
