// What the player's <video> plays: a media file's adaptive HLS ladder
// (MediaFile.hlsUrl) through hls.js, which is loaded on first use so the
// main bundle stays small, or natively where the browser plays HLS itself
// (Safari); otherwise, and whenever the ladder fails, the progressive MP4
// (playbackUrl), from where playback was.
import type { ErrorData, Level } from 'hls.js';

/** One rendition of the ladder, as the quality menu lists it. */
export interface Quality {
  index: number;
  height: number;
  bitrate: number;
  name: string;
}

export type SourceKind = 'mp4' | 'hls' | 'native-hls';

/** The menu's name of a rendition: its short side, as the server names
 * them (1080p also for a portrait 1080 × 1920 video). */
export function qualityName(width: number, height: number): string {
  return `${Math.min(width, height) || height}p`;
}

/** The renditions, best first, as hls.js lists them (lowest first). */
export function qualities(levels: Pick<Level, 'width' | 'height' | 'bitrate'>[]): Quality[] {
  return levels
    .map((l, index) => ({ index, height: l.height, bitrate: l.bitrate, name: qualityName(l.width, l.height) }))
    .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
}

/** Why the ladder could not be played, for the log and a toast. */
export function describeError(d: Pick<ErrorData, 'type' | 'details' | 'response'>): string {
  const code = d.response?.code ?? 0;
  return code ? `${d.details} (HTTP ${code})` : `${d.type}: ${d.details}`;
}

type HlsInstance = InstanceType<typeof import('hls.js').default>;

export class AdaptiveSource {
  kind = $state<SourceKind>('mp4');
  /** The ladder's renditions, best first (empty: no choice). */
  levels = $state.raw<Quality[]>([]);
  /** The rendition chosen in the menu, -1 for automatic. */
  selected = $state(-1);
  /** The rendition playing now (an hls.js level index), -1 if unknown. */
  current = $state(-1);

  /** Called once when the ladder fails and the MP4 takes over. */
  onFallback: (reason: string) => void = () => {};

  private hls: HlsInstance | null = null;
  private video: HTMLVideoElement | null = null;
  private mp4 = '';
  private generation = 0;

  /** Plays hlsUrl (if any, else mp4Url) in video, replacing what it
   * played. Resolves once the source is set. */
  async play(video: HTMLVideoElement, hlsUrl: string | undefined, mp4Url: string): Promise<void> {
    this.stop();
    const gen = ++this.generation;
    this.video = video;
    this.mp4 = mp4Url;
    if (!hlsUrl) return this.useMp4();
    let Hls: typeof import('hls.js').default;
    try {
      ({ default: Hls } = await import('hls.js'));
    } catch (e) {
      if (gen === this.generation) this.fallback(`hls.js did not load: ${e}`);
      return;
    }
    if (gen !== this.generation) return; // replaced meanwhile
    if (!Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) {
        this.kind = 'native-hls';
        video.src = hlsUrl;
        return;
      }
      return this.useMp4();
    }
    const hls = new Hls({ capLevelToPlayerSize: false, startLevel: -1 });
    this.hls = hls;
    this.kind = 'hls';
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
      this.levels = qualities(d.levels);
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
      this.current = d.level;
    });
    let recovered = false;
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (!d.fatal || this.hls !== hls) return;
      if (d.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true; // one decoder hiccup is worth a retry in place
        hls.recoverMediaError();
        return;
      }
      this.fallback(describeError(d));
    });
    hls.attachMedia(video);
    hls.loadSource(hlsUrl);
  }

  /** Picks a rendition (-1: automatic, by the measured bandwidth). */
  choose(index: number) {
    this.selected = index;
    if (!this.hls) return;
    // currentLevel switches now (flushing the buffer); -1 hands the
    // choice back to hls.js from the next segment on.
    if (index >= 0) this.hls.currentLevel = index;
    else this.hls.nextLevel = -1;
  }

  /** The name of the rendition playing, if known. */
  get currentName(): string {
    return this.levels.find((l) => l.index === this.current)?.name ?? '';
  }

  stop() {
    this.generation++;
    this.hls?.destroy();
    this.hls = null;
    this.levels = [];
    this.selected = -1;
    this.current = -1;
    this.kind = 'mp4';
  }

  private useMp4() {
    this.kind = 'mp4';
    if (this.video) this.video.src = this.mp4;
  }

  /** The ladder failed: the MP4 from where playback was. */
  private fallback(reason: string) {
    const v = this.video;
    const at = v?.currentTime ?? 0;
    const wasPlaying = v ? !v.paused : false;
    this.hls?.destroy();
    this.hls = null;
    this.levels = [];
    this.current = -1;
    this.useMp4();
    if (v && at > 0) {
      v.addEventListener('loadedmetadata', () => {
        v.currentTime = at;
        if (wasPlaying) v.play().catch(() => {});
      }, { once: true });
    }
    this.onFallback(reason);
  }
}
