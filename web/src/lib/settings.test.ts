import { describe, expect, it } from 'vitest';
import { healthUrlFor, parseSettings } from './settings';

describe('parseSettings', () => {
  it('resolves relative URLs against the page, behind any prefix', () => {
    const s = parseSettings({ ws_url: 'api/ws', upload_url: 'api/upload', tus_url: 'api/upload/tus/' }, 'https://review.example.com/clap/?vid=abc');
    expect(s.wsUrl).toBe('wss://review.example.com/clap/api/ws');
    expect(s.healthUrl).toBe('https://review.example.com/clap/api/health');
    expect(s.apiUrl).toBe('https://review.example.com/clap/api/');
    expect(s.uploadUrl).toBe('https://review.example.com/clap/api/upload');
    expect(s.tusUrl).toBe('https://review.example.com/clap/api/upload/tus/');
  });

  it('keeps absolute URLs from an admin conf', () => {
    const s = parseSettings({ ws_url: 'ws://127.0.0.1:8095/api/ws', upload_url: 'http://127.0.0.1:8095/api/upload' }, 'http://localhost:5173/');
    expect(s.wsUrl).toBe('ws://127.0.0.1:8095/api/ws');
    expect(s.healthUrl).toBe('http://127.0.0.1:8095/api/health');
    expect(s.apiUrl).toBe('http://127.0.0.1:8095/api/');
  });

  it('has defaults for everything and drops malformed menu items', () => {
    const s = parseSettings({ user_menu_extra_items: [{ label: 'Home', type: 'url', data: '/' }, { label: 'x', type: 'evil' } as never] }, 'http://h/');
    expect(s.appTitle).toBe('Clapshot');
    expect(s.wsUrl).toBe('ws://h/api/ws');
    expect(s.userMenuItems).toEqual([{ label: 'Home', type: 'url', data: '/' }]);
    expect(s.maxUploadBytes).toBe(0);
  });

  it('a share link page talks to its own API below /s/<token>/', () => {
    const s = parseSettings({ ws_url: 'api/ws', guest: true }, 'https://h/clap/s/AAAAAAAAAAAA0123456789abcdefghijklmn/?vid=x');
    expect(s.guest).toBe(true);
    expect(s.wsUrl).toBe('wss://h/clap/s/AAAAAAAAAAAA0123456789abcdefghijklmn/api/ws');
    expect(s.healthUrl).toBe('https://h/clap/s/AAAAAAAAAAAA0123456789abcdefghijklmn/api/health');
    expect(s.sharesUrl).toBe('');
    expect(parseSettings({ shares_url: 'api/shares' }, 'https://h/clap/?vid=x').sharesUrl).toBe('https://h/clap/api/shares');
  });

  it('a live_url only with cameras, resolved against the page', () => {
    expect(parseSettings({}, 'http://h/clap/').liveUrl).toBe('');
    expect(parseSettings({ live_url: 'api/live/' }, 'http://h/clap/?live').liveUrl).toBe('http://h/clap/api/live/');
    expect(parseSettings({ live_url: 'https://cams.example.com/api/live' }, 'http://h/').liveUrl).toBe('https://cams.example.com/api/live/');
  });

  it('an empty tus_url means the server has no tus endpoint', () => {
    expect(parseSettings({ tus_url: '' }, 'http://h/').tusUrl).toBe('');
  });
});

describe('healthUrlFor', () => {
  it.each([
    ['ws://h:8095/api/ws', 'http://h:8095/api/health'],
    ['wss://h/x/api/ws', 'https://h/x/api/health'],
  ])('%s -> %s', (ws, want) => expect(healthUrlFor(ws)).toBe(want));
});
