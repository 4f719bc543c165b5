// The compare view: another version of the open media file beside it
// (side by side) or under a wipe, playing on the open file's clock (see
// compare-sync.ts). A collab session mirrors it.
import type { ServerToClientCmd_CollabEvent } from '../../proto/client';
import type { VersionStack_Version } from '../../proto/common';
import type { MediaStore } from './media.svelte';

export type CompareMode = 'side' | 'wipe';

export interface CompareTarget {
  id: string;
  url: string;
  label: string;
}

/** The compare fields of a collab report (our extension). */
export interface CompareReport {
  compareMediaFileId?: string;
  compareMode?: string;
  wipePosition?: number;
}

export class CompareStore {
  /** The file shown beside the open one, or null (no compare view). */
  other = $state.raw<CompareTarget | null>(null);
  mode = $state<CompareMode>('side');
  /** Where the wipe is, 0..1 of the width from the left. */
  wipe = $state(0.5);

  /** Called after every change the user makes (a collab session mirrors it). */
  onChange: () => void = () => {};

  constructor(private media: MediaStore) {
    // The open file cannot be compared with itself; another file's stack
    // has other versions.
    media.onSwitch(() => {
      this.other = null;
    });
  }

  /** The versions the open file can be compared with. */
  get candidates(): VersionStack_Version[] {
    const mf = this.media.file;
    return (mf?.versionStack?.versions ?? []).filter((v) => v.mediaFileId !== mf?.id && v.playbackUrl);
  }

  /** Compares with the version mediaFileId ("": closes the view). */
  show(mediaFileId: string) {
    this.set(mediaFileId);
    this.onChange();
  }

  setMode(m: CompareMode) {
    this.mode = m;
    this.onChange();
  }

  setWipe(x: number) {
    this.wipe = Math.min(1, Math.max(0, x));
    this.onChange();
  }

  report(): CompareReport {
    if (!this.other) return {};
    return { compareMediaFileId: this.other.id, compareMode: this.mode, wipePosition: this.wipe };
  }

  /** Takes a collab session's compare view (not reported back). */
  apply(ev: Pick<ServerToClientCmd_CollabEvent, 'compareMediaFileId' | 'compareMode' | 'wipePosition'>) {
    this.set(ev.compareMediaFileId ?? '');
    if (ev.compareMode === 'side' || ev.compareMode === 'wipe') this.mode = ev.compareMode;
    if (ev.wipePosition !== undefined && isFinite(ev.wipePosition)) this.wipe = Math.min(1, Math.max(0, ev.wipePosition));
  }

  private set(mediaFileId: string) {
    if (!mediaFileId) {
      this.other = null;
      return;
    }
    if (this.other?.id === mediaFileId) return;
    const v = this.candidates.find((c) => c.mediaFileId === mediaFileId);
    this.other = v ? { id: v.mediaFileId, url: v.playbackUrl!, label: `v${v.version}${v.title ? ` · ${v.title}` : ''}` } : null;
  }
}
