import { describe, expect, it } from 'vitest';
import { commandName, decodeMessage, encodeCommand } from './protocol';
import { nextDelay } from './connection.svelte';

describe('encodeCommand', () => {
  it('writes Clapshot\'s wire form: one camelCase command key plus cookies', () => {
    const text = encodeCommand({ addComment: { mediaFileId: 'ae813dc2', comment: 'Hello', timecode: '00:00:00:03', timecodeEnd: '00:00:01:00' } }, { audio_volume: '100' });
    expect(JSON.parse(text)).toEqual({
      addComment: { mediaFileId: 'ae813dc2', comment: 'Hello', timecode: '00:00:00:03', timecodeEnd: '00:00:01:00' },
      cookies: { audio_volume: '100' },
    });
    expect(text.startsWith('{"addComment":')).toBe(true);
  });
  it('leaves out undefined fields and keeps empty commands', () => {
    expect(encodeCommand({ addComment: { mediaFileId: 'x', comment: 'c', parentId: '1', drawing: undefined } }, {}))
      .toBe('{"addComment":{"mediaFileId":"x","comment":"c","parentId":"1"},"cookies":{}}');
    expect(encodeCommand({ openNavigationPage: {} }, {})).toBe('{"openNavigationPage":{},"cookies":{}}');
    expect(encodeCommand({ moveToFolder: { dstFolderId: '2', ids: [{ mediaFileId: 'a' }, { folderId: '3' }], listingData: { folder_id: '1' } } }, {}))
      .toBe('{"moveToFolder":{"dstFolderId":"2","ids":[{"mediaFileId":"a"},{"folderId":"3"}],"listingData":{"folder_id":"1"}},"cookies":{}}');
  });
  it('refuses an empty command', () => expect(() => encodeCommand({}, {})).toThrow());
});

describe('decodeMessage', () => {
  it('reads protojson from the Go server (int64 as strings, timestamps, enums by name)', () => {
    const m = decodeMessage(JSON.stringify({
      addComments: { comments: [{ id: '7', mediaFileId: 'abc', usernameIfnull: 'Alice', comment: '<script>x</script>', timecode: '00:00:01:00', timecodeEnd: '00:00:02:00', created: '2024-05-01T10:00:00.123Z' }] },
    }));
    const c = m.addComments!.comments[0];
    expect(c.comment).toBe('<script>x</script>');
    expect(c.timecodeEnd).toBe('00:00:02:00');
    expect(c.created).toEqual(new Date('2024-05-01T10:00:00.123Z'));
    const w = decodeMessage('{"showMessages":{"msgs":[{"type":"PROGRESS","progress":0.5,"refs":{"mediaFileId":"abc"},"message":"Transcoding"}]}}');
    expect(w.showMessages!.msgs[0].type).toBe(2);
    const d = decodeMessage('{"openMediaFile":{"mediaFile":{"id":"abc","duration":{"duration":2.5,"totalFrames":"60","fps":"24"}}}}');
    expect(d.openMediaFile!.mediaFile!.duration!.totalFrames).toBe(60);
    expect(commandName(d)).toBe('openMediaFile');
  });
  it('also reads snake_case keys (pbjson with original names)', () => {
    const m = decodeMessage('{"welcome":{"user":{"id":"u","name":"U"},"is_admin":true,"server_version":"0.8.2"}}');
    expect(m.welcome).toEqual({ user: { id: 'u', name: 'U' }, isAdmin: true, serverVersion: '0.8.2' });
  });
  it.each([
    ['not json', /not JSON/],
    ['[]', /not a JSON object/],
    ['{"noSuchCommand":{}}', /unknown command noSuchCommand/],
    ['null', /not a JSON object/],
  ])('rejects %s with the reason', (text, re) => expect(() => decodeMessage(text)).toThrow(re));
});

describe('reconnect backoff', () => {
  it('grows by 1.5 up to the cap, with jitter', () => {
    expect(nextDelay(0, 500, 30000, 0.5)).toBe(500);
    expect(nextDelay(500, 500, 30000, 0.5)).toBe(750);
    expect(nextDelay(29000, 500, 30000, 0.5)).toBe(30000);
    expect(nextDelay(1000, 500, 30000, 0)).toBe(1200);
    expect(nextDelay(1000, 500, 30000, 1)).toBe(1800);
  });
});
