// Frame and timecode arithmetic.
//
// Inside the app a position is a frame number. Two text forms exist:
//  - Display SMPTE: HH:MM:SS:FF, or drop-frame HH:MM:SS;FF at 29.97 and
//    59.94 fps, as an editor (Resolve, Premiere, Avid) shows it.
//  - Wire form: what comments store in `timecode` and what Clapshot's client
//    reads back: "HH:MM:SS:FF" where HH:MM:SS is whole real-time seconds and
//    FF the frame within that second. At integer rates it equals
//    non-drop-frame SMPTE; at 29.97 it stays within a frame of real time, so
//    both clients seek to the same frame.

export interface Rate {
  /** Frames per second, exactly (30000/1001 for 29.97). */
  fps: number;
  /** Timecode base: frames counted per timecode second (30 for 29.97). */
  nominal: number;
  /** True for 29.97 and 59.94 fps, shown as drop-frame timecode. */
  dropFrame: boolean;
}

const NTSC: [number, number][] = [
  [23.976, 24],
  [29.97, 30],
  [47.952, 48],
  [59.94, 60],
  [119.88, 120],
];

/** Parses a frame rate: "25", "29.97", "30000/1001", "24000/1001". */
export function parseRate(s: string | number | undefined | null): Rate | null {
  if (s === undefined || s === null) return null;
  let fps: number;
  const str = String(s).trim();
  const frac = str.match(/^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/);
  if (frac) {
    const den = Number(frac[2]);
    if (!den) return null;
    fps = Number(frac[1]) / den;
  } else {
    fps = Number(str);
  }
  if (!isFinite(fps) || fps <= 0 || fps > 1000) return null;
  for (const [approx, nominal] of NTSC) {
    if (Math.abs(fps - approx) < 0.005) {
      return { fps: (nominal * 1000) / 1001, nominal, dropFrame: nominal === 30 || nominal === 60 };
    }
  }
  const nominal = Math.max(1, Math.round(fps));
  return { fps: Math.abs(fps - nominal) < 0.001 ? nominal : fps, nominal, dropFrame: false };
}

/** The rate's name as people say it: "25", "29.97", "23.976". */
export function rateLabel(r: Rate): string {
  return Number.isInteger(r.fps) ? String(r.fps) : r.fps.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
}

const EPS = 1e-6;

/** The frame shown at time t (seconds). */
export function secondsToFrame(t: number, r: Rate): number {
  if (!isFinite(t) || t <= 0) return 0;
  return Math.floor(t * r.fps + EPS);
}

/** The start time of a frame (seconds). */
export function frameToSeconds(frame: number, r: Rate): number {
  return frame / r.fps;
}

/** A time in the middle of a frame: seeking there shows exactly that frame,
 * whatever rounding the decoder applies. */
export function frameSeekTime(frame: number, r: Rate): number {
  return (Math.max(0, frame) + 0.5) / r.fps;
}

const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');

function dropCount(r: Rate): number {
  return r.nominal === 60 ? 4 : 2;
}

/** Frame number -> display SMPTE (drop-frame when the rate uses it). */
export function frameToSMPTE(frame: number, r: Rate, dropFrame = r.dropFrame): string {
  let f = Math.max(0, Math.floor(frame));
  const nom = r.nominal;
  if (dropFrame) {
    const drop = dropCount(r);
    const per10 = nom * 600 - drop * 9; // 17982 at 29.97
    const perMin = nom * 60 - drop; // 1798
    const d = Math.floor(f / per10);
    const m = f % per10;
    f += drop * 9 * d + (m > drop ? drop * Math.floor((m - drop) / perMin) : 0);
  }
  const ff = f % nom;
  const ss = Math.floor(f / nom) % 60;
  const mm = Math.floor(f / (nom * 60)) % 60;
  const hh = Math.floor(f / (nom * 3600));
  return `${pad(hh)}:${pad(mm)}:${pad(ss)}${dropFrame ? ';' : ':'}${pad(ff)}`;
}

/** Display SMPTE -> frame number, or null if it is not a timecode.
 * Accepts "HH:MM:SS:FF", "HH:MM:SS;FF", and shorter forms
 * ("MM:SS:FF", "SS:FF", "FF") as typed into the timecode box. */
export function smpteToFrame(s: string, r: Rate): number | null {
  const str = s.trim();
  if (!/^\d+([:;.]\d+){0,3}$/.test(str)) return null;
  const parts = str.split(/[:;.]/).map(Number);
  while (parts.length < 4) parts.unshift(0);
  const [hh, mm, ss, ff] = parts;
  const nom = r.nominal;
  if (mm > 59 || ss > 59 || ff >= nom) return null;
  let frame = (hh * 3600 + mm * 60 + ss) * nom + ff;
  // At a drop-frame rate, a typed timecode means what the display shows,
  // whichever separator was typed.
  if (r.dropFrame) {
    const totalMin = hh * 60 + mm;
    frame -= dropCount(r) * (totalMin - Math.floor(totalMin / 10));
  }
  return frame;
}

/** Frame -> the wire form stored in comments (see the file comment). */
export function frameToWire(frame: number, r: Rate): string {
  const t = Math.max(0, frame) / r.fps;
  let secs = Math.floor(t + EPS);
  let ff = Math.round((t - secs) * r.fps);
  if (ff >= Math.ceil(r.fps - EPS)) {
    secs += 1;
    ff = 0;
  }
  return `${pad(secs / 3600)}:${pad((secs / 60) % 60)}:${pad(secs % 60)}:${pad(ff)}`;
}

/** Wire form -> frame number, or null. Also reads "HH:MM:SS.mmm" (seconds
 * with a fraction) and drop-frame "HH:MM:SS;FF". */
export function wireToFrame(s: string | undefined | null, r: Rate): number | null {
  if (!s) return null;
  const str = s.trim();
  let m = str.match(/^(\d+):(\d{1,2}):(\d{1,2})[.,](\d+)$/);
  if (m) {
    const t = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number('0.' + m[4]);
    return secondsToFrame(t, r);
  }
  if (str.includes(';')) return smpteToFrame(str, r);
  m = str.match(/^(\d+):(\d{1,2}):(\d{1,2}):(\d{1,3})$/);
  if (!m) return null;
  const secs = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return Math.max(0, Math.round(secs * r.fps + Number(m[4])));
}

/** Seconds -> "1:02:03" / "2:03" for durations and tooltips. */
export function clockTime(t: number): string {
  if (!isFinite(t) || t < 0) return '--:--';
  const s = Math.floor(t);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
