// What the Live page's player needs from either way of playing a camera
// (LL-HLS through hls.js, or MSE over a websocket).

/** A player at work on a <video>. */
export interface LivePlayback {
  /** Stops playing and releases the connection (the viewer count drops). */
  stop(): void;
  /** Seconds from the picture shown to the newest one received, if known. */
  latency(): number | null;
}

/** What a player tells the page. */
export interface PlaybackEvents {
  /** Playback failed: the reason for the user, and whether trying again
   * later can help (a camera offline) or not (no such stream, a codec
   * this browser cannot play). The player has stopped either way. */
  onerror(message: string, retry: boolean): void;
}

/** The two ways to play a camera. */
export type PlaybackMode = 'hls' | 'mse';

/** The mode to use: the one asked for if the stream has it, else LL-HLS
 * (or classic HLS), else MSE; null when it has neither. */
export function chooseMode(s: { llhlsUrl: string; hlsUrl: string; mseUrl: string }, wanted: PlaybackMode | null): PlaybackMode | null {
  const has = { hls: !!(s.llhlsUrl || s.hlsUrl), mse: !!s.mseUrl };
  if (wanted && has[wanted]) return wanted;
  if (has.hls) return 'hls';
  return has.mse ? 'mse' : null;
}
