import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../protocol';
import { Dispatcher } from './dispatch';

describe('Dispatcher', () => {
  it('hands each command to its own handlers only, in the order they registered', () => {
    const d = new Dispatcher();
    const seen: string[] = [];
    d.on('showPage', (p) => seen.push(`page1:${p.pageId}`));
    d.on('addComments', (p) => seen.push(`comments:${p.comments.length}`));
    d.on('showPage', (p) => seen.push(`page2:${p.pageTitle}`));
    expect(d.dispatch(decodeMessage('{"showPage":{"pageItems":[],"pageId":"7","pageTitle":"Seven"}}'))).toBe(true);
    expect(d.dispatch(decodeMessage('{"addComments":{"comments":[{"id":"1","mediaFileId":"m","comment":"x"}]}}'))).toBe(true);
    expect(seen).toEqual(['page1:7', 'page2:Seven', 'comments:1']);
  });

  it('says when nobody handles a command', () => {
    const d = new Dispatcher();
    d.on('welcome', () => {});
    expect(d.dispatch(decodeMessage('{"delComment":{"commentId":"3"}}'))).toBe(false);
  });

  it('reports a failing handler and still runs the others', () => {
    const errors: string[] = [];
    const d = new Dispatcher((e, m) => errors.push(`${e.message} in ${Object.keys(m).find((k) => m[k as keyof typeof m])}`));
    let ran = false;
    d.on('error', () => {
      throw new Error('boom');
    });
    d.on('error', () => (ran = true));
    d.dispatch(decodeMessage('{"error":{"msg":"no"}}'));
    expect(errors).toEqual(['boom in error']);
    expect(ran).toBe(true);
  });

  it('stops calling a handler once unregistered', () => {
    const d = new Dispatcher();
    let n = 0;
    const off = d.on('delComment', () => n++);
    d.dispatch({ delComment: { commentId: '1' } });
    off();
    expect(d.dispatch({ delComment: { commentId: '2' } })).toBe(false);
    expect(n).toBe(1);
  });
});
