// The media file open for review and its subtitle choice. Stores whose
// state belongs to one file (its comments, later its versions) register
// with onSwitch and start afresh when another file opens or it closes.
import type { MediaFile, Subtitle } from '../../proto/common';
import type { Drawing } from '../drawing.svelte';
import type { PlayerController } from '../player.svelte';
import type { Send } from './dispatch';

export class MediaStore {
  /** The open file, as the server last described it. */
  file = $state.raw<MediaFile | null>(null);
  /** The subtitle track shown, or null. */
  subtitleId = $state<string | null>(null);

  /** Called when the user picks subtitles (a collab session mirrors it). */
  onSubtitleChosen: () => void = () => {};

  private switchHooks: ((mediaFileId: string | null) => void)[] = [];

  constructor(private player: PlayerController, private drawing: Drawing, private send: Send) {}

  /** Calls fn with the new file's id (or null: closed) before another file
   * is shown or the file is closed. */
  onSwitch(fn: (mediaFileId: string | null) => void) {
    this.switchHooks.push(fn);
  }

  /** Shows a file the server sent: another file starts afresh (default
   * subtitles, its frame rate); the same one is updated in place. */
  show(mf: MediaFile) {
    if (this.file?.id !== mf.id) {
      for (const h of this.switchHooks) h(mf.id);
      this.drawing.stop();
      this.drawing.reset();
      this.player.setRate(mf.duration?.fps);
      const def = mf.defaultSubtitleId && mf.subtitles.some((s) => s.id === mf.defaultSubtitleId) ? mf.defaultSubtitleId : null;
      this.subtitleId = def;
    } else {
      if (this.subtitleId && !mf.subtitles.some((s) => s.id === this.subtitleId)) this.subtitleId = null;
      // The transcoded file replaced the original, or the adaptive ladder
      // is ready: carry on where we were.
      if ((this.file?.playbackUrl !== mf.playbackUrl || this.file?.hlsUrl !== mf.hlsUrl) && this.player.video) {
        this.player.resumeAt = this.player.video.currentTime;
        this.player.pause(false);
      }
    }
    this.file = mf;
  }

  close() {
    for (const h of this.switchHooks) h(null);
    this.file = null;
    this.subtitleId = null;
    this.drawing.stop();
    this.drawing.reset();
  }

  get subtitle(): Subtitle | null {
    return this.file?.subtitles.find((s) => s.id === this.subtitleId) ?? null;
  }

  /** The user picks a subtitle track (or none). */
  selectSubtitle(id: string | null) {
    this.subtitleId = id;
    this.onSubtitleChosen();
  }

  addSubtitle(fileName: string, contentsBase64: string) {
    if (!this.file) return;
    this.send({ addSubtitle: { mediaFileId: this.file.id, fileName, contentsBase64 } });
  }

  editSubtitle(info: { id: string; title: string; languageCode: string; timeOffset: number; isDefault: boolean }) {
    this.send({ editSubtitleInfo: info });
  }

  delSubtitle(id: string) {
    if (this.subtitleId === id) this.selectSubtitle(null);
    this.send({ delSubtitle: { id } });
  }
}
