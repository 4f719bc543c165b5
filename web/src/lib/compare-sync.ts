// One clock for the compare view: the open file's <video> (a) leads, the
// compared one (b, muted) follows. Paused, b is set to a's exact time
// after every seek, so both show the same frame; playing, at every frame a
// presents, the frame b shows at that moment is compared with it; beyond
// one and a half frames of drift, b runs 10 % faster
// or slower until it is back within a quarter of a frame. (Every change
// of playbackRate disturbs the element's clock, so it changes only on
// those two thresholds, not at every frame.) Only a drift beyond half a
// second is seeked away: a seek while playing stalls b (it decodes from
// the keyframe before), and seeking at every small drift keeps it behind.

const SEEK_BEYOND = 0.5;
const CORRECT_BEYOND = 1.5; // frames
const RATE_CHANGE = 0.1;

/** Makes b follow a; returns the function that stops it. */
export function followClock(a: HTMLVideoElement, b: HTMLVideoElement, fps: number): () => void {
  const frame = 1 / (fps > 0 ? fps : 25);
  b.muted = true;
  let stopped = false;
  let handle = 0;

  // Paused, exactly; starting to play, only when off by half a frame (a
  // has already moved on a little, and a seek would stall b).
  const align = (slack = 1e-4) => {
    if (Math.abs(b.currentTime - a.currentTime) > slack) b.currentTime = a.currentTime;
  };
  // b's latest presented frame: its media time and when it was shown.
  let bShown: { media: number; at: number } | null = null;
  let bHandle = 0;
  const bTick = (_now: number, m: VideoFrameCallbackMetadata) => {
    bShown = { media: m.mediaTime, at: m.expectedDisplayTime };
    bHandle = stopped ? 0 : b.requestVideoFrameCallback(bTick);
  };
  bHandle = b.requestVideoFrameCallback(bTick);
  const tick = (_now: number, meta: VideoFrameCallbackMetadata) => {
    handle = 0;
    if (stopped || a.paused) return;
    // Picture against picture: what b shows when a shows this frame (from
    // b's last presented frame, moved on by the time between them). Under
    // load a player shows its frames late, which its currentTime hides.
    const drift = bShown && !b.paused
      ? bShown.media + ((meta.expectedDisplayTime - bShown.at) / 1000) * b.playbackRate - meta.mediaTime
      : b.currentTime - a.currentTime;
    let rate = b.playbackRate;
    if (Math.abs(drift) > SEEK_BEYOND) {
      b.currentTime = meta.mediaTime;
      rate = a.playbackRate;
    } else if (Math.abs(drift) < frame / 4) {
      rate = a.playbackRate;
    } else if (Math.abs(drift) > CORRECT_BEYOND * frame) {
      // Catch up or wait, inaudibly (b is muted).
      rate = a.playbackRate * (drift > 0 ? 1 - RATE_CHANGE : 1 + RATE_CHANGE);
    }
    if (rate !== b.playbackRate) b.playbackRate = rate;
    handle = a.requestVideoFrameCallback(tick);
  };
  const watch = () => {
    if (!handle && !stopped) handle = a.requestVideoFrameCallback(tick);
  };
  const onPlay = () => {
    align(frame / 2);
    b.playbackRate = a.playbackRate;
    b.play().catch(() => {});
    watch();
  };
  const onPause = () => {
    b.pause();
    align();
  };
  const onRate = () => {
    b.playbackRate = a.playbackRate;
  };
  const onB = () => {
    align();
    if (!a.paused) onPlay();
  };
  const listeners: [HTMLVideoElement, string, () => void][] = [
    [a, 'play', onPlay], [a, 'pause', onPause], [a, 'seeking', () => align()], [a, 'seeked', () => align()], [a, 'ratechange', onRate],
    [b, 'loadedmetadata', onB],
  ];
  for (const [el, ev, fn] of listeners) el.addEventListener(ev, fn);
  if (b.readyState >= 1) onB();
  return () => {
    stopped = true;
    for (const [el, ev, fn] of listeners) el.removeEventListener(ev, fn);
    if (handle) a.cancelVideoFrameCallback(handle);
    if (bHandle) b.cancelVideoFrameCallback(bHandle);
    b.pause();
  };
}
