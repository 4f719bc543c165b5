/// <reference types="node" />
// The archive store against a real HTTP server on loopback answering as
// the server's /api/live/streams/{id}/archive/ does, with the user
// messages coming through the real MessagesStore.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserMessage_Type, type UserMessage } from '../../proto/common';
import { ArchiveStore } from './archive.svelte';
import { Dispatcher } from './dispatch';
import { MessagesStore } from './messages.svelte';

const ID = '0742091c-19cd-4658-9b4f-5320da160f45';
const T0 = Date.UTC(2026, 11, 3, 9, 30, 0);
const ranges = { stream_id: ID, ranges: [{ start: '2026-12-03T09:30:00Z', end: '2026-12-03T09:31:00Z' }, { start: '2026-12-03T09:31:02.5Z', end: '2026-12-03T09:32:00Z' }] };

describe('ArchiveStore', () => {
  let server: Server;
  let url = '';
  let requests: { method: string; url: string; body: string }[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => {};
  let d: Dispatcher;
  let messages: MessagesStore;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (b) => (body += b));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body });
        answer(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/clap/api/live/streams/${ID}/archive/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    requests = [];
    // The browser storage MessagesStore keeps its "seen" mark in.
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
    d = new Dispatcher();
    messages = new MessagesStore(d, () => {});
  });

  const json = (code: number, body: unknown) => (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const say = (type: UserMessage_Type, message: string, mediaFileId: string, details?: string) =>
    d.dispatch({ showMessages: { msgs: [{ type, message, details, refs: { mediaFileId }, seen: false } as UserMessage] } });
  const until = async (ok: () => boolean, what: string) => {
    for (const t = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() - t > 5000) throw new Error(`no ${what} in 5 s`);
  };

  it('reads the ranges, gaps kept; an archive with nothing yet is empty, not an error', async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(200, ranges);
    await a.refresh();
    expect([a.loaded, a.error, a.ranges]).toEqual([true, null, [{ start: T0, end: T0 + 60_000 }, { start: T0 + 62_500, end: T0 + 120_000 }]]);
    expect(requests.at(-1)?.url).toBe(`/clap/api/live/streams/${ID}/archive/ranges`);
    answer = json(404, { error: 'no archive segments found' });
    await a.refresh();
    expect([a.loaded, a.error, a.ranges]).toEqual([true, null, []]);
  });

  it("says why the ranges cannot be read, in the server's words", async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(404, { error: `stream ${ID}: no such stream` });
    await a.refresh();
    expect([a.loaded, a.error]).toEqual([false, `stream ${ID}: no such stream`]);
    answer = json(200, { ranges: [{ start: 'soon' }] });
    await a.refresh();
    expect(a.error).toBe('ranges[0]: no valid start time');
  });

  it('names the VOD playlist of a range', () => {
    const a = new ArchiveStore(url);
    expect(a.vodUrl(T0 + 1500)).toBe(`${url}vod.m3u8?start=1796290201.500`);
    expect(a.vodUrl(T0, T0 + 60_000)).toBe(`${url}vod.m3u8?start=1796290200.000&end=1796290260.000`);
  });

  it('sends the pick to review; the clip is ready when the pipeline has added it', async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(200, ranges);
    await a.refresh();
    expect(a.problem).toMatch(/^Pick a start and an end/);
    a.select(T0 + 70_000, T0 + 10_000);
    expect([a.pick, a.problem]).toEqual([{ start: T0 + 10_000, end: T0 + 70_000 }, null]);
    answer = json(202, { media_file_id: 'ab12cd34', title: 'Lobby clip', start: '2026-12-03T09:29:59.2Z', duration: 60.8, codec: 'avc1.64000d,mp4a.40.2' });
    const clip = await a.send('  Lobby clip ');
    const post = requests.at(-1)!;
    expect([post.method, post.url, JSON.parse(post.body)]).toEqual(['POST', `/clap/api/live/streams/${ID}/archive/review`,
      { start: '2026-12-03T09:30:10.000Z', end: '2026-12-03T09:31:10.000Z', title: 'Lobby clip' }]);
    expect([clip.state, clip.mediaFileId, clip.title, clip.duration]).toEqual(['adding', 'ab12cd34', 'Lobby clip', 60.8]);
    say(UserMessage_Type.OK, 'Media added.', 'other');
    expect(a.clips[0].state).toBe('adding');
    say(UserMessage_Type.OK, 'Media added.', 'ab12cd34');
    expect([a.clips[0].state, a.clips[0].error]).toEqual(['ready', '']);
  });

  it('hears the pipeline even when its message comes before the answer', async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(200, ranges);
    await a.refresh();
    a.select(T0, T0 + 5000);
    answer = (_, res) => {
      say(UserMessage_Type.OK, 'Media added.', 'fast0001');
      json(202, { media_file_id: 'fast0001', title: 't', duration: 5 })(_, res);
    };
    await a.send('');
    expect(a.clips[0].state).toBe('ready');
    // Without a title the server names it; the clip shows the times until then.
    expect(JSON.parse(requests.at(-1)!.body).title).toBe('');
  });

  it('shows why the server refused the range, and why the pipeline failed', async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(200, ranges);
    await a.refresh();
    a.select(T0, T0 + 5000);
    answer = json(404, { error: 'no archive segments in this time range: the archive has 09:31:02 to 09:32:00' });
    await a.send('x');
    expect([a.clips[0].state, a.clips[0].error]).toEqual(['failed', 'no archive segments in this time range: the archive has 09:31:02 to 09:32:00']);
    answer = json(202, { media_file_id: 'bad00001' });
    await a.send('y');
    say(UserMessage_Type.ERROR, 'Error reading media file metadata.', 'bad00001', "'y': no video");
    expect([a.clips.length, a.clips[0].state, a.clips[0].error]).toEqual([2, 'failed', "Error reading media file metadata. 'y': no video"]);
    // A pick that cannot be sent is not.
    a.setEnd(T0 - 1000);
    const n = requests.length;
    await expect(a.send('z')).rejects.toThrow(/is before the start/);
    expect(requests.length).toBe(n);
  });

  it('polls while the stream records and stops when closed; then hears no more', async () => {
    const a = new ArchiveStore(url, messages);
    answer = json(200, ranges);
    a.poll(true, 20);
    a.poll(true, 20); // once
    await until(() => requests.length >= 3, 'three polls');
    a.close();
    await new Promise((r) => setTimeout(r, 50));
    const n = requests.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(requests.length).toBe(n);
    a.clips = [{ key: 1, title: 't', start: 0, end: 1, state: 'adding', mediaFileId: 'late0001', duration: 0, error: '' }];
    say(UserMessage_Type.OK, 'Media added.', 'late0001');
    expect(a.clips[0].state).toBe('adding');
  });

  it('says so when the server cannot be reached', async () => {
    const a = new ArchiveStore('http://127.0.0.1:9/api/live/streams/x/archive/');
    await a.refresh();
    expect(a.error).toMatch(/^Cannot reach the server: /);
  });
});
