// CMX3600 EDL reading, for importing an edit's events (or an NLE's marker
// export) as comments.
import { frameToSeconds, smpteToFrame, type Rate } from './timecode';

export interface EDLEvent {
  num: string;
  reel: string;
  track: string;
  transition: string;
  srcIn: string;
  srcOut: string;
  recIn: string;
  recOut: string;
  clipName?: string;
  /** Marker text (DaVinci Resolve's "|M:" marker exports). */
  marker?: string;
  /** Other "* ..." comment lines. */
  notes: string[];
}

export interface EDL {
  title?: string;
  /** From "FCM: DROP FRAME" / "NON-DROP FRAME" (undefined if absent). */
  dropFrame?: boolean;
  events: EDLEvent[];
  /** Lines that looked like events but could not be read. */
  problems: string[];
}

const TC = String.raw`(\d{1,2}[:;.]\d{2}[:;.]\d{2}[:;.]\d{2,3})`;
const EVENT_RE = new RegExp(String.raw`^\s*(\d{1,6})\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+\S+)*?\s+` + `${TC}\\s+${TC}\\s+${TC}\\s+${TC}\\s*$`);

export function parseEDL(text: string): EDL {
  const edl: EDL = { events: [], problems: [] };
  let cur: EDLEvent | null = null;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    const line = raw.trimEnd();
    if (!line.trim()) continue;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^TITLE:\s*(.*)$/i))) {
      edl.title = m[1].trim();
    } else if ((m = line.match(/^FCM:\s*(.*)$/i))) {
      edl.dropFrame = /^DROP/i.test(m[1].trim());
    } else if ((m = line.match(EVENT_RE))) {
      cur = {
        num: m[1], reel: m[2], track: m[3], transition: m[4],
        srcIn: m[5], srcOut: m[6], recIn: m[7], recOut: m[8], notes: [],
      };
      edl.events.push(cur);
    } else if (cur && (m = line.match(/^\*\s*FROM CLIP NAME:\s*(.+)$/i))) {
      cur.clipName = m[1].trim();
    } else if (cur && (m = line.match(/\|M:(.*?)(?:\s\|[A-Z]:|$)/))) {
      cur.marker = m[1].trim();
    } else if (cur && (m = line.match(/^\*\s*(.*)$/))) {
      if (m[1].trim()) cur.notes.push(m[1].trim());
    } else if (/^\s*\d{1,6}\s/.test(line) && !/^\s*M2\s/.test(line)) {
      edl.problems.push(line.trim());
    }
  }
  return edl;
}

/** The comment text an event becomes. */
export function eventLabel(e: EDLEvent): string {
  if (e.marker) return e.marker;
  return `EDL (${e.clipName || e.reel || e.num})`;
}

/** Seconds from the media's start to a record timecode of the EDL, given
 * the EDL's frame rate and the timecode where the media starts (often
 * 01:00:00:00). Null if the timecode cannot be read or lies before start. */
export function recordSeconds(tc: string, edlRate: Rate, startFrame: number): number | null {
  const f = smpteToFrame(tc, edlRate);
  if (f === null || f < startFrame) return null;
  return frameToSeconds(f - startFrame, edlRate);
}

/** A sensible default start: the hour of the earliest record-in. Editors
 * start sequences at 01:00:00:00 (or 00:00:00:00). */
export function guessStartTimecode(edl: EDL): string {
  let minHour = Infinity;
  for (const e of edl.events) {
    const h = Number(e.recIn.split(/[:;.]/)[0]);
    if (isFinite(h)) minHour = Math.min(minHour, h);
  }
  return `${String(isFinite(minHour) ? minHour : 0).padStart(2, '0')}:00:00:00`;
}
