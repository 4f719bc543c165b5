// The archive of a live stream as the player page shows it: the recorded
// ranges (docs/live.md, "Ranges"), where they sit on a timeline, a picked
// start and end, and what is wrong with a pick before it is sent. Times are
// milliseconds since the epoch; shown in the browser's time zone.

/** One recorded stretch, without a gap inside. */
export interface ArchiveRange {
  start: number;
  end: number;
}

/** A start and end picked by the user (either may be unset). */
export interface Pick {
  start: number | null;
  end: number | null;
}

/** The longest range the server exports at once (archive.MaxExport). */
export const MAX_EXPORT_MS = 4 * 3600_000;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ranges of the API's {"stream_id", "ranges": [{start, end}]}, in
 * order. Throws naming the entry that is wrong. */
export function parseRanges(raw: unknown): ArchiveRange[] {
  if (!isObject(raw) || !Array.isArray(raw.ranges)) throw new Error('the archive ranges are not {"ranges": [...]}');
  const out = raw.ranges.map((r, i) => {
    const at = (k: string) => {
      const v = isObject(r) ? r[k] : undefined;
      const t = typeof v === 'string' ? Date.parse(v) : NaN;
      if (Number.isNaN(t)) throw new Error(`ranges[${i}]: no valid ${k} time`);
      return t;
    };
    const range = { start: at('start'), end: at('end') };
    if (range.end < range.start) throw new Error(`ranges[${i}]: ends before it starts`);
    return range;
  });
  return out.sort((a, b) => a.start - b.start);
}

/** From the first recorded moment to the last, or null without ranges. */
export function extent(ranges: readonly ArchiveRange[]): ArchiveRange | null {
  if (!ranges.length) return null;
  return { start: ranges[0].start, end: Math.max(...ranges.map((r) => r.end)) };
}

/** The part of the timeline shown: the last `spanMs` of the archive (all
 * of it when shorter or when spanMs is 0). */
export function timelineWindow(ranges: readonly ArchiveRange[], spanMs: number): ArchiveRange | null {
  const e = extent(ranges);
  if (!e) return null;
  const start = spanMs > 0 ? Math.max(e.start, e.end - spanMs) : e.start;
  // A window of no length still needs a width to draw and pick in.
  return { start, end: Math.max(e.end, start + 1000) };
}

/** Where t is in the window, 0..1 (clamped). */
export function fraction(win: ArchiveRange, t: number): number {
  return Math.min(1, Math.max(0, (t - win.start) / (win.end - win.start)));
}

/** The time at a fraction of the window. */
export function timeAt(win: ArchiveRange, f: number): number {
  return win.start + Math.min(1, Math.max(0, f)) * (win.end - win.start);
}

/** The ranges inside the window, cut to it, as left and width in percent. */
export function layout(ranges: readonly ArchiveRange[], win: ArchiveRange): (ArchiveRange & { left: number; width: number })[] {
  return ranges
    .filter((r) => r.end > win.start && r.start < win.end)
    .map((r) => {
      const left = fraction(win, r.start) * 100;
      return { ...r, left, width: fraction(win, r.end) * 100 - left };
    });
}

/** How much of [from, to) is recorded, in ms. */
export function recordedIn(ranges: readonly ArchiveRange[], from: number, to: number): number {
  let ms = 0;
  for (const r of ranges) ms += Math.max(0, Math.min(r.end, to) - Math.max(r.start, from));
  return ms;
}

/** Where playback of the archive can start for a point picked at t: t
 * itself when recorded, else the start of the next range (a gap has
 * nothing to show), else the last second of the archive. */
export function playableAt(ranges: readonly ArchiveRange[], t: number): number | null {
  if (!ranges.length) return null;
  for (const r of ranges) {
    if (t < r.start) return r.start;
    if (t < r.end) return t;
  }
  const last = ranges[ranges.length - 1];
  return Math.max(last.start, last.end - 1000);
}

/** What is wrong with a pick, in the user's words, or null when it can be
 * sent. The server checks the same again. */
export function checkPick(p: Pick, ranges: readonly ArchiveRange[]): string | null {
  if (p.start === null && p.end === null) return 'Pick a start and an end: drag on the timeline, or type the times.';
  if (p.start === null) return 'Pick a start.';
  if (p.end === null) return 'Pick an end.';
  if (p.end < p.start) return `The end (${formatClock(p.end)}) is before the start (${formatClock(p.start)}).`;
  if (p.end === p.start) return 'The start and the end are the same moment: pick a range.';
  if (p.end - p.start > MAX_EXPORT_MS) return `The range is ${formatDuration(p.end - p.start)} long; at most ${formatDuration(MAX_EXPORT_MS)} can be sent at once.`;
  if (recordedIn(ranges, p.start, p.end) === 0) {
    const e = extent(ranges);
    return e
      ? `Nothing was recorded from ${formatClock(p.start)} to ${formatClock(p.end)}: the archive has ${formatClock(e.start)} to ${formatClock(e.end)}.`
      : 'Nothing has been recorded yet.';
  }
  return null;
}

/** The pick in order, whichever way it was dragged. */
export function ordered(a: number, b: number): { start: number; end: number } {
  return a <= b ? { start: a, end: b } : { start: b, end: a };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2026-12-03 09:30:12" in the browser's time zone ("09:30:12" with
 * date false). */
export function formatClock(t: number, date = true): string {
  const d = new Date(t);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return date ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock}` : clock;
}

/** "4.2 s", "12 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
  return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
}

/** The value of an <input type="datetime-local" step="1"> for t. */
export function toLocalInput(t: number): string {
  return formatClock(t).replace(' ', 'T');
}

/** The time an <input type="datetime-local"> holds (local time, with or
 * without seconds), or null when it holds none. */
export function fromLocalInput(v: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?$/.exec(v.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((x) => Number(x ?? 0));
  const t = new Date(y, mo - 1, d, h, mi, sec, Number((m[7] ?? '0').padEnd(3, '0'))).getTime();
  return Number.isNaN(t) ? null : t;
}

/** The browser's time zone, for saying which clock the times are on:
 * "Europe/Helsinki, UTC+02:00". */
export function zoneLabel(at = Date.now()): string {
  const off = -new Date(at).getTimezoneOffset();
  const sign = off < 0 ? '−' : '+';
  const utc = `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return name && name !== 'UTC' ? `${name}, ${utc}` : utc;
}

/** A URL's query value for a time: Unix seconds with milliseconds. */
export function unixSeconds(t: number): string {
  return (t / 1000).toFixed(3);
}
