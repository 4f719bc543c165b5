// Comment threads: the flat list the server sends, as the ordered,
// indented list the panel shows.
import type { Comment } from '../proto/common';
import { frameToSeconds, wireToFrame, type Rate } from './timecode';

export interface ThreadRow {
  c: Comment;
  depth: number;
  /** Number of direct replies (a comment with replies cannot be deleted). */
  replies: number;
}

export type CommentOrder = 'timecode' | 'posted';

const created = (c: Comment) => c.created?.getTime() ?? 0;
const byPosted = (a: Comment, b: Comment) => created(a) - created(b) || Number(a.id) - Number(b.id) || a.id.localeCompare(b.id);

/**
 * Orders comments as threads: top-level comments by `order` (by timecode
 * uses `frameOf`; untimed ones go last), replies under their parent by the
 * time they were posted. Comments whose parent is unknown (it may arrive
 * later) are shown as top-level. Parent loops cannot hang it.
 */
export function threadComments(list: readonly Comment[], order: CommentOrder = 'posted', frameOf?: (c: Comment) => number | null): ThreadRow[] {
  const byId = new Map<string, Comment>();
  for (const c of list) byId.set(c.id, c);
  const children = new Map<string, Comment[]>();
  const roots: Comment[] = [];
  for (const c of byId.values()) {
    if (c.parentId && byId.has(c.parentId) && c.parentId !== c.id) {
      let arr = children.get(c.parentId);
      if (!arr) children.set(c.parentId, (arr = []));
      arr.push(c);
    } else {
      roots.push(c);
    }
  }
  if (order === 'timecode' && frameOf) {
    const key = new Map<string, number>();
    for (const c of roots) key.set(c.id, frameOf(c) ?? Infinity);
    roots.sort((a, b) => key.get(a.id)! - key.get(b.id)! || byPosted(a, b));
  } else {
    roots.sort(byPosted);
  }
  const out: ThreadRow[] = [];
  const seen = new Set<string>();
  const visit = (c: Comment, depth: number) => {
    if (seen.has(c.id)) return;
    seen.add(c.id);
    const kids = children.get(c.id) ?? [];
    out.push({ c, depth, replies: kids.length });
    kids.sort(byPosted);
    for (const k of kids) visit(k, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  // Members of a parent loop are nobody's descendants from a root.
  for (const c of [...byId.values()].sort(byPosted)) {
    if (!seen.has(c.id)) visit(c, 0);
  }
  return out;
}

/** Applies addComments: upsert by id, keeping the rest. */
export function upsertComments(cur: readonly Comment[], add: readonly Comment[], mediaFileId: string): Comment[] {
  const map = new Map(cur.map((c) => [c.id, c]));
  for (const c of add) if (c.mediaFileId === mediaFileId) map.set(c.id, c);
  return [...map.values()];
}

/** What a comment card shows, computed once per list change rather than
 * per card (a file can have thousands). */
export interface CommentView extends ThreadRow {
  who: string;
  initials: string;
  hue: number;
  /** Start and end frame, or null. */
  start: number | null;
  end: number | null;
  when: string;
  edited: string;
  long: boolean;
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });

export function initials(name: string): string {
  const parts = name.trim().split(/[\s._@-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

export function nameHue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

/**
 * Card data for each row. With a cache (kept by the caller, emptied when
 * the frame rate changes), an unchanged comment keeps its view object, so
 * its card is not touched when another comment arrives.
 */
export function commentViews(rows: ThreadRow[], frameOf: (tc: string | undefined) => number | null, cache?: Map<string, CommentView>): CommentView[] {
  const seen = cache ? new Set<string>() : null;
  const out = rows.map((r) => {
    const c = r.c;
    seen?.add(c.id);
    const hit = cache?.get(c.id);
    if (hit && hit.c === c && hit.depth === r.depth && hit.replies === r.replies) return hit;
    const who = c.usernameIfnull || c.userId || 'Unknown';
    const v: CommentView = {
      ...r,
      who,
      initials: initials(who),
      hue: nameHue(who),
      start: frameOf(c.timecode),
      end: frameOf(c.timecodeEnd),
      when: c.created ? dateFmt.format(c.created) : '',
      edited: c.edited ? dateFmt.format(c.edited) : '',
      long: c.comment.length > 600 || c.comment.split('\n', 10).length > 8,
    };
    cache?.set(c.id, v);
    return v;
  });
  if (cache && seen) for (const id of cache.keys()) if (!seen.has(id)) cache.delete(id);
  return out;
}

/** A timeline marker: one or more top-level comments at (about) the same
 * place, or a range comment's span. */
export interface Pin {
  id: string;
  /** Seconds. */
  start: number;
  end?: number;
  label: string;
  count: number;
}

/**
 * Markers for the timeline. Comments closer together than one of `slots`
 * equal parts of the media share a marker (its label says how many), so a
 * file with thousands of comments gets at most a few hundred markers that
 * can still be told apart and clicked.
 */
export function timelinePins(comments: readonly Comment[], rate: Rate, duration: number, slots = 400): Pin[] {
  const dur = duration > 0 ? duration : 1;
  const byKey = new Map<string, Pin>();
  for (const c of comments) {
    if (c.parentId) continue;
    const f = wireToFrame(c.timecode, rate);
    if (f === null) continue;
    const e = wireToFrame(c.timecodeEnd, rate);
    const start = frameToSeconds(f, rate);
    const end = e !== null && e > f ? frameToSeconds(e, rate) : undefined;
    const key = `${Math.round((start / dur) * slots)}:${end === undefined ? '' : Math.round((end / dur) * slots)}`;
    const pin = byKey.get(key);
    if (pin) {
      pin.count++;
      continue;
    }
    const who = c.usernameIfnull || c.userId || '?';
    byKey.set(key, { id: c.id, start, end, label: `${who}: ${c.comment.slice(0, 140)}`, count: 1 });
  }
  const out = [...byKey.values()];
  for (const p of out) if (p.count > 1) p.label += ` (and ${p.count - 1} more here)`;
  return out.sort((a, b) => a.start - b.start);
}
