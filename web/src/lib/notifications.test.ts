import { describe, expect, it } from 'vitest';
import { exportUrl, EXPORT_FORMATS } from './exports';
import { checkSettings, describeDelivery, settingsToSend, type Delivery, type NotifySettings } from './notifications';

const base: NotifySettings = {
  on_comment: true, on_reply: true, on_mention: true, in_app: true,
  email: '', email_enabled: false, webhook_url: '', webhook_secret: 'abc', email_available: true,
};

describe('settingsToSend', () => {
  it('sends only what the server accepts, trimmed', () => {
    const out = settingsToSend({ ...base, email: ' a@b.example ', email_enabled: true, webhook_url: ' https://h.example/x ' });
    expect(out).toEqual({
      on_comment: true, on_reply: true, on_mention: true, in_app: true,
      email: 'a@b.example', email_enabled: true, webhook_url: 'https://h.example/x',
    });
  });
  it('turns e-mail off without an address, and asks for a new secret', () => {
    const out = settingsToSend({ ...base, email_enabled: true }, true);
    expect(out.email_enabled).toBe(false);
    expect(out.regenerate_secret).toBe(true);
  });
});

describe('checkSettings', () => {
  it.each([
    [{}, ''],
    [{ email: 'nobody' }, '"nobody" is not an e-mail address.'],
    [{ webhook_url: 'hooks.example/x' }, '"hooks.example/x" is not a URL.'],
    [{ webhook_url: 'ftp://hooks.example/x' }, 'The webhook URL must start with http:// or https://.'],
    [{ email: 'a@b', webhook_url: 'http://10.0.0.1/hook' }, ''],
  ])('%j -> %s', (over, want) => expect(checkSettings({ ...base, ...over })).toBe(want));
});

describe('describeDelivery', () => {
  const d: Delivery = { id: 1, channel: 'email', target: 'a@b', event: 'reply', state: 'queued', attempts: 0, created: '' };
  it.each([
    [{}, 'E-mail to a@b: queued'],
    [{ attempts: 2, last_error: '451 try again' }, 'E-mail to a@b: retrying (2 failed: 451 try again)'],
    [{ state: 'done', attempts: 1 }, 'E-mail to a@b: sent'],
    [{ state: 'failed', attempts: 1, channel: 'webhook', target: 'https://h/…', last_error: '500' }, 'Webhook https://h/…: gave up after 1 attempt (500)'],
  ])('%j -> %s', (over, want) => expect(describeDelivery({ ...d, ...over } as Delivery)).toBe(want));
});

describe('exportUrl', () => {
  it('names the media file and the format under the API', () => {
    expect(exportUrl('https://r.example/clap/api/', 'ab12/cd', 'edl')).toBe('https://r.example/clap/api/media/ab12%2Fcd/comments/export?format=edl');
  });
  it('offers each format the server knows once', () => {
    expect(EXPORT_FORMATS.map((f) => f.format)).toEqual(['edl', 'csv', 'fcpxml', 'premiere', 'html']);
  });
});
