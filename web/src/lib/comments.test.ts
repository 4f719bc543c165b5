import { describe, expect, it } from 'vitest';
import type { Comment } from '../proto/common';
import { threadComments, timelinePins, upsertComments } from './comments';
import { parseRate } from './timecode';

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

describe('timelinePins', () => {
  const rate = parseRate('25')!;
  const at = (id: string, tc: string, extra: Partial<Comment> = {}): Comment => ({ id, mediaFileId: 'm', usernameIfnull: 'Ann', comment: `c${id}`, timecode: tc, ...extra });
  it('one marker per place, ranges apart, replies and untimed left out', () => {
    const pins = timelinePins([
      at('1', '00:00:01:00'), at('2', '00:00:01:00'), at('3', '00:00:05:00'),
      at('4', '00:00:01:00', { timecodeEnd: '00:00:02:00' }), at('5', '00:00:03:00', { parentId: '1' }), { ...at('6', ''), timecode: undefined },
    ], rate, 10);
    expect(pins.map((p) => [p.id, p.start, p.end, p.count])).toEqual([['1', 1, undefined, 2], ['4', 1, 2, 1], ['3', 5, undefined, 1]]);
    expect(pins[0].label).toBe('Ann: c1 (and 1 more here)');
  });
  it('1 000 comments make at most a few hundred markers', () => {
    const list: Comment[] = [];
    for (let i = 0; i < 1000; i++) list.push(at(String(i), `00:00:${String(Math.floor(i / 25) % 60).padStart(2, '0')}:${String(i % 25).padStart(2, '0')}`));
    const pins = timelinePins(list, rate, 60);
    expect(pins.length).toBeLessThanOrEqual(401);
    expect(pins.reduce((n, p) => n + p.count, 0)).toBe(1000);
  });
});
