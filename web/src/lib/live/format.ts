// How the Live page words a camera's status.
import type { LiveStream } from '../stores/live.svelte';

/** "1.2 Mbit/s", "850 kbit/s", "0 bit/s". */
export function formatBitrate(bps: number): string {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

/** How long ago `at` was, seen from `now`: "5 s", "3 min", "2 h", "4 d". */
export function formatAge(at: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** What the user is told about a stream's state. */
export function describeState(s: Pick<LiveStream, 'state' | 'lastError'> & Partial<Pick<LiveStream, 'lastHealthError'>>): string {
  switch (s.state) {
    case 'online':
      return 'Online';
    case 'idle':
      return s.lastHealthError ? `Idle, camera not answering: ${s.lastHealthError}` : 'Idle (starts when watched)';
    case 'connecting':
      return 'Connecting…';
    case 'stopped':
      return 'Stopped';
    case 'ended':
      return 'Ended (the file has played)';
    case 'offline':
      return s.lastError ? `Offline: ${s.lastError}` : 'Offline';
  }
}
