// Comment threads: the flat list the server sends, as the ordered,
// indented list the panel shows.
import type { Comment } from '../proto/common';

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
