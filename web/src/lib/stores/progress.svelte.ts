// How far the server's processing (transcoding, thumbnails) of each media
// file is, from its progress messages. A report without news for a while
// is dropped, so a stalled job does not show progress for ever.
import { UserMessage_Type } from '../../proto/common';
import type { MessagesStore } from './messages.svelte';

export interface Progress {
  msg: string;
  /** 0..1, or undefined when the server gives no fraction. */
  progress?: number;
  /** When the report came (ms since epoch). */
  at: number;
}

/** How long a progress report stays without news. */
export const PROGRESS_TTL_MS = 30_000;

export class ProgressStore {
  /** The latest report per media file id. */
  byMedia = $state.raw<Record<string, Progress>>({});

  constructor(messages: MessagesStore) {
    messages.handle(UserMessage_Type.PROGRESS, (m) => {
      if (m.refs?.mediaFileId) this.set(m.refs.mediaFileId, m.message, m.progress);
    });
    // A notice can carry progress too (e.g. "Transcoding done", 1.0).
    messages.onNotice((m) => {
      if (m.progress !== undefined && m.refs?.mediaFileId) this.set(m.refs.mediaFileId, m.message, m.progress);
    });
  }

  of(mediaFileId: string): Progress | undefined {
    return this.byMedia[mediaFileId];
  }

  /** Records a report; a finished one (progress ≥ 1) removes the file's. */
  set(mediaFileId: string, msg: string, progress?: number) {
    const next = { ...this.byMedia };
    if (progress !== undefined && progress >= 1) delete next[mediaFileId];
    else next[mediaFileId] = { msg, progress, at: Date.now() };
    this.byMedia = next;
    setTimeout(() => this.expire(), PROGRESS_TTL_MS + 100);
  }

  private expire() {
    const now = Date.now();
    const next: Record<string, Progress> = {};
    for (const [k, p] of Object.entries(this.byMedia)) if (now - p.at < PROGRESS_TTL_MS) next[k] = p;
    if (Object.keys(next).length !== Object.keys(this.byMedia).length) this.byMedia = next;
  }
}
