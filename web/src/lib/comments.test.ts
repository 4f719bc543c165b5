import { describe, expect, it } from 'vitest';
import type { Comment } from '../proto/common';
import { threadComments, upsertComments } from './comments';

const c = (id: string, t: number, parentId?: string, frame?: number): Comment & { f?: number } => ({
  id, mediaFileId: 'm', usernameIfnull: 'u', comment: `c${id}`, created: new Date(1_700_000_000_000 + t * 1000), parentId,
  timecode: frame === undefined ? undefined : String(frame), f: frame,
});

describe('threadComments', () => {
  it('orders threads by posting time, replies indented under their parent', () => {
    const rows = threadComments([c('3', 3, '1'), c('1', 1), c('2', 2), c('4', 4, '3'), c('5', 0.5, '1')]);
    expect(rows.map((r) => [r.c.id, r.depth, r.replies])).toEqual([
      ['1', 0, 2], ['5', 1, 0], ['3', 1, 1], ['4', 2, 0], ['2', 0, 0],
    ]);
  });
  it('orders top-level comments by timecode, untimed last', () => {
    const list = [c('1', 1, undefined, 50), c('2', 2), c('3', 3, undefined, 10), c('4', 4, '1')];
    const rows = threadComments(list, 'timecode', (x) => (x.timecode ? Number(x.timecode) : null));
    expect(rows.map((r) => r.c.id)).toEqual(['3', '1', '4', '2']);
  });
  it('shows replies to unknown parents, and survives parent loops', () => {
    const rows = threadComments([c('1', 1, '99'), c('2', 2, '3'), c('3', 3, '2'), c('4', 4, '4')]);
    expect(rows.map((r) => r.c.id).sort()).toEqual(['1', '2', '3', '4']);
  });
  it('handles 1 000 comments quickly', () => {
    const list: Comment[] = [];
    for (let i = 0; i < 1000; i++) list.push(c(String(i), i, i % 3 === 2 ? String(i - 1) : undefined, (i * 7919) % 5000));
    const t = performance.now();
    const rows = threadComments(list, 'timecode', (x) => (x.timecode ? Number(x.timecode) : null));
    expect(rows).toHaveLength(1000);
    expect(performance.now() - t).toBeLessThan(200);
  });
});

describe('upsertComments', () => {
  it('replaces by id and ignores other media', () => {
    const out = upsertComments([c('1', 1), c('2', 2)], [{ ...c('2', 2), comment: 'edited' }, { ...c('3', 3), mediaFileId: 'other' }], 'm');
    expect(out.map((x) => [x.id, x.comment])).toEqual([['1', 'c1'], ['2', 'edited']]);
  });
});
