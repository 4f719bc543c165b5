// LL-HLS through hls.js (lowLatencyMode: blocking playlist reloads and
// parts), loaded on first use so that the app's main bundle stays small.
// Safari without MSE plays the same playlist natively.
import type { ErrorData } from 'hls.js';
import type { LivePlayback, PlaybackEvents } from './playback';

/** What the user is told about a fatal hls.js error. Playlists answer 404
 * for an unknown stream and for one the user may not watch, 503 before
 * the camera's first picture (docs/live.md). */
export function describeHlsError(d: Pick<ErrorData, 'type' | 'details' | 'response' | 'error'>): { message: string; retry: boolean } {
  const code = d.response?.code ?? 0;
  if (code === 404) return { message: 'No such stream, or you may not watch it (404)', retry: false };
  if (code === 403) return { message: 'The server refused this request (403)', retry: false };
  if (code === 503) return { message: 'The camera has sent no picture yet (503): it may be offline', retry: true };
  if (code >= 400) return { message: `The server answered ${code} (${d.details})`, retry: true };
  if (d.type === 'networkError') return { message: `Cannot load the stream (${d.details})`, retry: true };
  if (d.type === 'mediaError') return { message: `The browser cannot play the stream (${d.details}${d.error?.message ? `: ${d.error.message}` : ''})`, retry: true };
  return { message: `Playback failed (${d.type}: ${d.details})`, retry: true };
}

const idle: LivePlayback = { stop() {}, latency: () => null };

/** Plays an HLS or LL-HLS playlist in a <video>. If `signal` is aborted
 * while hls.js is loading, the <video> is left alone (another player may
 * have it by then). */
export async function startHls(video: HTMLVideoElement, url: string, ev: PlaybackEvents, signal?: AbortSignal): Promise<LivePlayback> {
  const { default: Hls } = await import('hls.js');
  if (signal?.aborted) return idle;
  if (!Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) return nativeHls(video, url, ev);
    throw new Error('This browser can play HLS neither with Media Source Extensions nor natively');
  }
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 10 });
  let stopped = false;
  let recovered = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    hls.destroy();
  };
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (!d.fatal || stopped) return;
    // One decoder hiccup is worth a retry in place; more are reported.
    if (d.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
      recovered = true;
      hls.recoverMediaError();
      return;
    }
    stop();
    const { message, retry } = describeHlsError(d);
    ev.onerror(message, retry);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    video.play().catch(() => {
      // Autoplay refused: the controls let the user start it.
    });
  });
  hls.attachMedia(video);
  hls.loadSource(url);
  return {
    stop,
    latency: () => {
      const at = hls.playingDate;
      return at ? Math.max(0, (Date.now() - at.getTime()) / 1000) : null;
    },
  };
}

function nativeHls(video: HTMLVideoElement, url: string, ev: PlaybackEvents): LivePlayback {
  let stopped = false;
  const onerror = () => {
    if (!stopped) ev.onerror('The browser could not play the stream', true);
  };
  video.addEventListener('error', onerror);
  video.src = url;
  video.play().catch(() => {});
  return {
    stop() {
      stopped = true;
      video.removeEventListener('error', onerror);
      video.removeAttribute('src');
      video.load();
    },
    latency: () => null,
  };
}
