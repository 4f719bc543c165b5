/// <reference types="node" />
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveError, LiveStore, parseStream, parseStreamList, wsUrlFor } from './live.svelte';

const ID = '0742091c-19cd-4658-9b4f-5320da160f45';

/** The example of docs/live.md's API contract. */
const example = {
  id: ID,
  name: 'Test camera',
  url: 'rtsp://127.0.0.1:8554/cam',
  state: 'online',
  online: true,
  on_demand: false,
  outputs: ['mse', 'llhls', 'hls'],
  codecs: 'avc1.64000d,mp4a.40.2',
  video: 'H.264 320x240, AAC',
  width: 320,
  height: 240,
  bitrate_bps: 212000,
  viewers: 1,
  reconnects: 0,
  last_error: '',
  last_error_at: null,
  since: '2026-12-03T09:29:51Z',
  last_health_check: null,
  reachable: null,
  last_health_error: '',
  llhls_url: `streams/${ID}/llhls/index.m3u8`,
  hls_url: `streams/${ID}/hls/index.m3u8`,
  mse_url: `streams/${ID}/mse`,
};

describe('parseStream', () => {
  it('reads the contract, with URLs resolved against the API behind any prefix', () => {
    const s = parseStream(example, 'https://review.example.com/clap/api/live/');
    expect(s).toEqual({
      id: ID,
      name: 'Test camera',
      url: 'rtsp://127.0.0.1:8554/cam',
      state: 'online',
      online: true,
      onDemand: false,
      outputs: ['mse', 'llhls', 'hls'],
      codecs: 'avc1.64000d,mp4a.40.2',
      video: 'H.264 320x240, AAC',
      width: 320,
      height: 240,
      bitrateBps: 212000,
      viewers: 1,
      reconnects: 0,
      lastError: '',
      lastErrorAt: null,
      lastHealthError: '',
      since: new Date('2026-12-03T09:29:51Z'),
      llhlsUrl: `https://review.example.com/clap/api/live/streams/${ID}/llhls/index.m3u8`,
      hlsUrl: `https://review.example.com/clap/api/live/streams/${ID}/hls/index.m3u8`,
      mseUrl: `https://review.example.com/clap/api/live/streams/${ID}/mse`,
    });
  });

  it('fills what a stream without picture or outputs lacks, and keeps what it has', () => {
    const s = parseStream({ id: ID, state: 'offline', last_error: 'camera unreachable: connection refused', last_error_at: '2026-12-03T09:30:00Z', mse_url: '', bitrate_bps: 'x' }, 'http://h/api/live/');
    expect([s.name, s.state, s.codecs, s.width, s.bitrateBps, s.llhlsUrl, s.mseUrl, s.outputs]).toEqual([ID, 'offline', '', 0, 0, '', '', []]);
    expect([s.lastError, s.lastErrorAt?.toISOString()]).toEqual(['camera unreachable: connection refused', '2026-12-03T09:30:00.000Z']);
  });

  it('reads the health check of an idle on-demand camera', () => {
    const s = parseStream({ id: ID, state: 'idle', on_demand: true, last_health_check: '2026-12-03T09:30:00Z', reachable: false, last_health_error: 'wrong credentials (401 Unauthorized)' }, 'http://h/api/live/');
    expect([s.state, s.lastHealthError]).toEqual(['idle', 'wrong credentials (401 Unauthorized)']);
  });

  it.each([
    ['an unknown state', { id: ID, state: 'exploded' }, 'connecting'],
    ['no state', { id: ID }, 'connecting'],
    ['idle', { id: ID, state: 'idle' }, 'idle'],
  ])('%s', (_, raw, want) => expect(parseStream(raw, 'http://h/').state).toBe(want));

  it.each([
    [null, 'streams[2]: not an object'],
    [[], 'streams[2]: not an object'],
    [{ name: 'x' }, 'streams[2]: no id'],
  ])('refuses %j', (raw, msg) => expect(() => parseStream(raw, 'http://h/', 'streams[2]')).toThrow(msg));
});

describe('parseStreamList', () => {
  it('reads the streams and the server clock', () => {
    const l = parseStreamList({ time: '2026-12-03T09:30:00Z', streams: [example, { ...example, id: 'b' }] }, 'http://h/api/live/');
    expect([l.streams.map((s) => s.id), l.time?.toISOString()]).toEqual([[ID, 'b'], '2026-12-03T09:30:00.000Z']);
    expect(parseStreamList({ streams: [] }, 'http://h/')).toEqual({ streams: [], time: null });
  });

  it.each([[{}], [{ streams: {} }], [[example]], ['x']])('refuses %j', (raw) =>
    expect(() => parseStreamList(raw, 'http://h/')).toThrow('the live stream list is not {"streams": [...]}'),
  );

  it('names the entry that is wrong', () => expect(() => parseStreamList({ streams: [example, {}] }, 'http://h/')).toThrow('streams[1]: no id'));
});

describe('wsUrlFor', () => {
  it.each([
    ['http://h/api/live/streams/x/mse', 'ws://h/api/live/streams/x/mse'],
    ['https://h/p/api/live/streams/x/mse', 'wss://h/p/api/live/streams/x/mse'],
  ])('%s -> %s', (u, want) => expect(wsUrlFor(u)).toBe(want));
});

// The store against a real HTTP server on loopback, answering as the
// server's /api/live/ does (and as a broken proxy in front of it might).
describe('LiveStore', () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void = () => {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      answer(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/clap/api/live/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const json = (code: number, body: unknown) => (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('lists the streams; the Live page is offered only when there is one', async () => {
    const live = new LiveStore(base);
    answer = json(200, { time: '2026-12-03T09:30:00Z', streams: [] });
    await live.refresh();
    expect([live.enabled, live.loaded, live.available, live.error]).toEqual([true, true, false, null]);
    answer = json(200, { time: '2026-12-03T09:30:00Z', streams: [example] });
    await live.refresh();
    expect([live.available, live.streams[0].mseUrl, live.serverTime.toISOString()]).toEqual([true, `${base}streams/${ID}/mse`, '2026-12-03T09:30:00.000Z']);
    expect(requests.at(-1)).toBe('/clap/api/live/streams');
  });

  it('without cameras it asks nothing and offers nothing', async () => {
    const live = new LiveStore('');
    const n = requests.length;
    await live.refresh();
    live.watch(5)();
    await expect(live.fetchOne(ID)).rejects.toThrow('This server has no live cameras');
    expect([live.enabled, live.available, requests.length]).toEqual([false, false, n]);
  });

  it("keeps the last list when a refresh fails, and says why in the server's words", async () => {
    const live = new LiveStore(base);
    answer = json(200, { streams: [example] });
    await live.refresh();
    answer = json(403, { error: 'identity headers from 10.0.0.9 are not trusted' });
    await live.refresh();
    expect([live.streams.length, live.error]).toEqual([1, 'identity headers from 10.0.0.9 are not trusted']);
    answer = (_, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
    };
    await live.refresh();
    expect(live.error).toBe('502 Bad Gateway');
    answer = json(200, { streams: 'nope' });
    await live.refresh();
    expect(live.error).toBe('the live stream list is not {"streams": [...]}');
    answer = json(200, { streams: [] });
    await live.refresh();
    expect([live.streams, live.error]).toEqual([[], null]);
  });

  it('says so when the server cannot be reached', async () => {
    const live = new LiveStore('http://127.0.0.1:9/api/live/');
    await live.refresh();
    expect(live.error).toMatch(/^Cannot reach the server: /);
    expect(live.loaded).toBe(false);
  });

  it('one stream, fresh; a 404 (unknown or not allowed) drops it from the list', async () => {
    const live = new LiveStore(base);
    answer = json(200, { streams: [example] });
    await live.refresh();
    answer = json(200, { ...example, state: 'offline', online: false, last_error: 'connection lost: EOF' });
    const s = await live.fetchOne(ID);
    expect([s.state, live.get(ID)?.lastError, requests.at(-1)]).toEqual(['offline', 'connection lost: EOF', `/clap/api/live/streams/${ID}`]);
    answer = json(404, { error: `stream ${ID}: no such stream` });
    const err = await live.fetchOne(ID).catch((e) => e);
    expect(err).toBeInstanceOf(LiveError);
    expect([err.message, err.notFound, live.get(ID), live.available]).toEqual([`stream ${ID}: no such stream`, true, undefined, false]);
  });

  it('polls while watched, and stops with the last watcher', async () => {
    const live = new LiveStore(base);
    answer = json(200, { streams: [example] });
    const polls = () => requests.filter((u) => u === '/clap/api/live/streams').length;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const before = polls();
    const a = live.watch(20);
    const b = live.watch(20);
    a();
    a(); // twice is once: b still watches
    for (let t = Date.now(); polls() - before < 3; await sleep(10)) {
      if (Date.now() - t > 5000) throw new Error(`${polls() - before} polls in 5 s, want 3`);
    }
    b();
    await sleep(50); // a poll already in flight may land
    const stopped = polls();
    await sleep(150);
    expect(polls()).toBe(stopped);
  });
});
