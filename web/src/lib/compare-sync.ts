// One clock for the compare view: the open file's <video> (a) leads, the
// compared one (b, muted) follows. Paused, b is set to a's exact time
// after every seek, so both show the same frame; playing, b's drift is
// measured at every frame a presents and taken out by a slight change of
// b's speed, or by a seek when it is more than two frames off.

/** Makes b follow a; returns the function that stops it. */
export function followClock(a: HTMLVideoElement, b: HTMLVideoElement, fps: number): () => void {
  const frame = 1 / (fps > 0 ? fps : 25);
  b.muted = true;
  let stopped = false;
  let handle = 0;

  const align = () => {
    if (Math.abs(b.currentTime - a.currentTime) > 1e-4) b.currentTime = a.currentTime;
  };
  const tick = (_now: number, meta: VideoFrameCallbackMetadata) => {
    handle = 0;
    if (stopped || a.paused) return;
    const drift = b.currentTime - meta.mediaTime;
    if (Math.abs(drift) > 2 * frame) {
      b.currentTime = meta.mediaTime;
      b.playbackRate = a.playbackRate;
    } else {
      // Catch up or wait within a few frames' time, inaudibly (b is muted).
      b.playbackRate = a.playbackRate * (1 - Math.max(-0.1, Math.min(0.1, drift * 2)));
    }
    handle = a.requestVideoFrameCallback(tick);
  };
  const watch = () => {
    if (!handle && !stopped) handle = a.requestVideoFrameCallback(tick);
  };
  const onPlay = () => {
    align();
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
    [a, 'play', onPlay], [a, 'pause', onPause], [a, 'seeking', align], [a, 'seeked', align], [a, 'ratechange', onRate],
    [b, 'loadedmetadata', onB],
  ];
  for (const [el, ev, fn] of listeners) el.addEventListener(ev, fn);
  if (b.readyState >= 1) onB();
  return () => {
    stopped = true;
    for (const [el, ev, fn] of listeners) el.removeEventListener(ev, fn);
    if (handle) a.cancelVideoFrameCallback(handle);
    b.pause();
  };
}
