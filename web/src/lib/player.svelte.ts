// The player's state and transport controls, apart from any markup: the
// <video> element is attached by Player.svelte, and everything else
// (controls, timeline, comments, collab) drives playback through here.
import { getCookie, setCookie } from './cookies';
import { frameSeekTime, parseRate, secondsToFrame, type Rate } from './timecode';

export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];

/** What a user did to playback; mirrored to a collab session. */
export type UserAction = 'play' | 'pause' | 'seek' | 'step' | 'loop' | 'speed';

export interface RemoteState {
  paused: boolean;
  loop: boolean;
  seekTimeSec: number;
  loopStartSec?: number;
  loopEndSec?: number;
}

const DEFAULT_RATE = parseRate('25')!;

export class PlayerController {
  video: HTMLVideoElement | null = null;

  rate = $state<Rate>(DEFAULT_RATE);
  /** False until the media's metadata (size, duration) is known. */
  ready = $state(false);
  time = $state(0);
  frame = $state(0);
  duration = $state(0);
  paused = $state(true);
  /** Playback speed; negative while shuttling backwards (J). */
  speed = $state(1);
  volume = $state(1);
  muted = $state(false);
  /** Looping: the whole media, or [loopIn, loopOut) if both are set. */
  loopOn = $state(false);
  loopIn = $state<number | null>(null);
  loopOut = $state<number | null>(null);
  error = $state('');
  videoWidth = $state(0);
  videoHeight = $state(0);

  /** Where to continue when the same file's media URL changes (the
   * transcoded file replaces the original), or null. */
  resumeAt: number | null = null;

  /** Called for every user action on playback (not for remote ones). */
  onUserAction: (a: UserAction) => void = () => {};
  /** Called before any seek, e.g. to hide a shown drawing. */
  onSeekStart: () => void = () => {};

  private rvfc = 0;
  private reverseTimer: ReturnType<typeof setTimeout> | null = null;
  private detachFns: (() => void)[] = [];

  constructor(fps?: string) {
    this.setRate(fps);
    const v = Number(getCookie('audio_volume'));
    this.volume = getCookie('audio_volume') !== null && isFinite(v) ? Math.min(1, Math.max(0, v / 100)) : 1;
    this.muted = localStorage.getItem('clapshot_muted') === '1';
  }

  setRate(fps?: string) {
    this.rate = parseRate(fps) ?? DEFAULT_RATE;
  }

  get totalFrames() {
    return Math.max(1, Math.ceil(this.duration * this.rate.fps - 1e-6));
  }

  attach(v: HTMLVideoElement) {
    this.detach();
    this.video = v;
    v.volume = this.volume;
    v.muted = this.muted;
    const on = <K extends keyof HTMLMediaElementEventMap>(ev: K, fn: () => void) => {
      v.addEventListener(ev, fn);
      this.detachFns.push(() => v.removeEventListener(ev, fn));
    };
    on('loadedmetadata', () => {
      this.duration = isFinite(v.duration) ? v.duration : 0;
      this.videoWidth = v.videoWidth;
      this.videoHeight = v.videoHeight;
      this.ready = true;
      this.error = '';
      if (this.resumeAt !== null) {
        v.currentTime = Math.min(this.resumeAt, this.duration || this.resumeAt);
        this.resumeAt = null;
      }
      this.sync();
    });
    on('emptied', () => {
      // A new source (e.g. the transcoded file): not ready until its metadata.
      this.ready = false;
      this.error = '';
    });
    on('durationchange', () => (this.duration = isFinite(v.duration) ? v.duration : 0));
    on('play', () => {
      this.paused = false;
      this.watchFrames();
    });
    on('pause', () => {
      this.paused = this.speed >= 0;
      this.sync();
    });
    on('seeked', () => this.sync());
    on('timeupdate', () => {
      if (v.paused) this.sync();
    });
    on('ended', () => {
      this.paused = true;
      this.sync();
    });
    on('error', () => {
      const e = v.error;
      this.error = e ? `The browser cannot play this media (${e.message || 'error ' + e.code})` : 'The browser cannot play this media';
    });
    if (v.readyState >= 1) v.dispatchEvent(new Event('loadedmetadata'));
  }

  detach() {
    this.stopReverse();
    if (this.video && this.rvfc && 'cancelVideoFrameCallback' in this.video) this.video.cancelVideoFrameCallback(this.rvfc);
    this.rvfc = 0;
    for (const f of this.detachFns) f();
    this.detachFns = [];
    this.video = null;
    this.ready = false;
  }

  /** Reads the position from the element (paused or seeking). */
  private sync() {
    const v = this.video;
    if (!v) return;
    this.time = v.currentTime;
    this.frame = secondsToFrame(v.currentTime, this.rate);
  }

  /** Follows playback frame by frame, and enforces the loop range. */
  private watchFrames() {
    const v = this.video;
    if (!v) return;
    if (!('requestVideoFrameCallback' in v)) {
      const tick = () => {
        if (!this.video || this.video.paused) return;
        this.sync();
        this.checkLoop();
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      return;
    }
    const tick = (_now: number, meta: VideoFrameCallbackMetadata) => {
      if (this.video !== v) return;
      this.time = meta.mediaTime;
      this.frame = Math.round(meta.mediaTime * this.rate.fps);
      this.checkLoop();
      if (!v.paused) this.rvfc = v.requestVideoFrameCallback(tick);
      else this.sync();
    };
    this.rvfc = v.requestVideoFrameCallback(tick);
  }

  get hasLoopRange() {
    return this.loopIn !== null && this.loopOut !== null && this.loopOut > this.loopIn;
  }

  private checkLoop() {
    const v = this.video;
    if (!v || !this.loopOn || !this.hasLoopRange) return;
    if (this.time >= this.loopOut! - 0.5 / this.rate.fps || this.time < this.loopIn! - 1) {
      v.currentTime = this.loopIn!;
    }
  }

  // ---- Transport ----

  play(user = true) {
    const v = this.video;
    if (!v) return;
    this.stopReverse();
    this.speed = Math.abs(this.speed) || 1;
    v.playbackRate = this.speed;
    if (this.loopOn && this.hasLoopRange && (this.time < this.loopIn! || this.time >= this.loopOut!)) v.currentTime = this.loopIn!;
    else if (v.ended || (this.duration && v.currentTime >= this.duration - 0.01)) v.currentTime = 0;
    this.onSeekStart();
    v.play().catch((e: Error) => {
      if (e.name !== 'AbortError') this.error = `Cannot start playback: ${e.message}`;
    });
    this.paused = false;
    if (user) this.onUserAction('play');
  }

  pause(user = true) {
    const v = this.video;
    if (!v) return;
    const wasPlaying = !v.paused || this.reverseTimer !== null;
    this.stopReverse();
    v.pause();
    this.paused = true;
    if (this.speed < 0) this.speed = 1;
    this.sync();
    if (user && wasPlaying) this.onUserAction('pause');
  }

  toggle() {
    if (this.paused) this.play();
    else this.pause();
  }

  /** Seeks to a frame (clamped to the media). */
  seekFrame(frame: number, user = true) {
    const v = this.video;
    if (!v) return;
    const f = Math.min(Math.max(0, Math.round(frame)), Math.max(0, this.totalFrames - 1));
    this.onSeekStart();
    v.currentTime = frameSeekTime(f, this.rate);
    this.time = v.currentTime;
    this.frame = f;
    if (user) this.onUserAction('seek');
  }

  seekSeconds(t: number, user = true) {
    const v = this.video;
    if (!v || !isFinite(t)) return;
    this.onSeekStart();
    v.currentTime = Math.min(Math.max(0, t), this.duration || t);
    this.sync();
    if (user) this.onUserAction('seek');
  }

  /** Steps n frames (pauses first). */
  step(n: number) {
    if (!this.video) return;
    if (!this.paused) this.pause(false);
    this.seekFrame(this.frame + n, false);
    this.onUserAction('step');
  }

  setSpeed(s: number) {
    const v = this.video;
    this.speed = s;
    if (v && s > 0) v.playbackRate = s;
    this.onUserAction('speed');
  }

  /** J/K/L shuttle: L plays forward, faster on each press; J the same
   * backwards; K stops. */
  shuttle(key: 'j' | 'k' | 'l') {
    const v = this.video;
    if (!v) return;
    if (key === 'k') {
      this.pause();
      return;
    }
    const steps = [1, 1.5, 2];
    const forward = key === 'l';
    const cur = this.speed;
    const moving = forward ? !this.paused && cur > 0 : this.reverseTimer !== null;
    const next = moving ? steps[Math.min(steps.indexOf(Math.abs(cur)) + 1, steps.length - 1)] ?? 1 : 1;
    if (forward) {
      this.speed = next;
      this.play();
    } else {
      if (!v.paused) v.pause();
      this.speed = -next;
      this.paused = false;
      this.runReverse();
      this.onUserAction('play');
    }
  }

  /** Browsers cannot play backwards; step back seek by seek instead. */
  private runReverse() {
    this.stopReverse();
    const v = this.video;
    if (!v) return;
    const period = 1000 / Math.min(this.rate.fps, 12);
    let last = performance.now();
    const tick = () => {
      if (!this.video || this.speed >= 0) return;
      const now = performance.now();
      const dt = ((now - last) / 1000) * -this.speed;
      last = now;
      const t = v.currentTime - dt;
      if (t <= 0) {
        v.currentTime = 0;
        this.reverseTimer = null;
        this.speed = 1;
        this.paused = true;
        this.sync();
        return;
      }
      v.currentTime = t;
      this.sync();
      this.reverseTimer = setTimeout(tick, period);
    };
    this.reverseTimer = setTimeout(tick, period);
  }

  private stopReverse() {
    if (this.reverseTimer) clearTimeout(this.reverseTimer);
    this.reverseTimer = null;
  }

  // ---- Loop ----

  /** Sets the loop in or out point at the current frame. Setting a point
   * where it already is clears the range. */
  setLoopPoint(which: 'in' | 'out') {
    const t = frameSeekTime(this.frame, this.rate) - 0.5 / this.rate.fps;
    if (which === 'in') {
      if (this.loopIn !== null && Math.abs(this.loopIn - t) < 1e-3) this.loopIn = null;
      else this.loopIn = t;
      if (this.loopOut !== null && this.loopIn !== null && this.loopOut <= this.loopIn) this.loopOut = null;
    } else {
      const out = t + 1 / this.rate.fps; // the out frame is included
      if (this.loopOut !== null && Math.abs(this.loopOut - out) < 1e-3) this.loopOut = null;
      else this.loopOut = out;
      if (this.loopIn === null && this.loopOut !== null) this.loopIn = 0;
      if (this.loopOut !== null && this.loopIn !== null && this.loopOut <= this.loopIn) this.loopIn = 0;
    }
    if (this.hasLoopRange) this.loopOn = true;
    this.applyLoop();
    this.onUserAction('loop');
  }

  setLoopRange(inSec: number | null, outSec: number | null, user = true) {
    this.loopIn = inSec;
    this.loopOut = outSec;
    if (this.hasLoopRange) this.loopOn = true;
    this.applyLoop();
    if (user) this.onUserAction('loop');
  }

  toggleLoop() {
    this.loopOn = !this.loopOn;
    this.applyLoop();
    this.onUserAction('loop');
  }

  clearLoop() {
    this.loopIn = this.loopOut = null;
    this.loopOn = false;
    this.applyLoop();
    this.onUserAction('loop');
  }

  /** Whole-media looping uses the element's own loop; a range is enforced
   * frame by frame in checkLoop. */
  private applyLoop() {
    if (this.video) this.video.loop = this.loopOn && !this.hasLoopRange;
  }

  // ---- Audio ----

  setVolume(v: number) {
    this.volume = Math.min(1, Math.max(0, v));
    if (this.video) this.video.volume = this.volume;
    if (this.volume > 0 && this.muted) this.setMuted(false);
    setCookie('audio_volume', String(Math.round(this.volume * 100)), Date.now() + 365 * 86400_000);
  }

  setMuted(m: boolean) {
    this.muted = m;
    if (this.video) this.video.muted = m;
    try {
      localStorage.setItem('clapshot_muted', m ? '1' : '0');
    } catch {
      /* not remembered */
    }
  }

  // ---- Collab ----

  /** Applies another participant's state without echoing it back. */
  applyRemote(s: RemoteState) {
    const v = this.video;
    if (!v) return;
    if (s.loopStartSec !== undefined || s.loopEndSec !== undefined) {
      this.loopIn = s.loopStartSec ?? null;
      this.loopOut = s.loopEndSec ?? null;
    }
    this.loopOn = s.loop;
    this.applyLoop();
    if (s.paused) {
      this.stopReverse();
      if (!v.paused) v.pause();
      this.paused = true;
      if (Math.abs(v.currentTime - s.seekTimeSec) > 1e-3) {
        this.onSeekStart();
        v.currentTime = s.seekTimeSec;
      }
      this.sync();
    } else {
      if (Math.abs(v.currentTime - s.seekTimeSec) > 0.25) v.currentTime = s.seekTimeSec;
      this.stopReverse();
      this.speed = Math.abs(this.speed) || 1;
      v.playbackRate = this.speed;
      v.play().catch(() => {});
      this.paused = false;
    }
  }
}
