// The user's notification settings and recent deliveries, through the
// server's JSON API (internal/notify: GET/PUT api/notifications/settings,
// GET api/notifications/deliveries).

export interface NotifySettings {
  on_comment: boolean;
  on_reply: boolean;
  on_mention: boolean;
  in_app: boolean;
  email: string;
  email_enabled: boolean;
  webhook_url: string;
  /** Made by the server when a webhook URL is set; the receiver checks signatures with it. */
  webhook_secret?: string;
  /** PUT only: replace the secret. */
  regenerate_secret?: boolean;
  /** GET only: false when the server has no SMTP server configured. */
  email_available?: boolean;
}

export interface Delivery {
  id: number;
  channel: 'email' | 'webhook';
  target: string;
  event: string;
  state: string;
  attempts: number;
  last_error?: string;
  created: string;
  next_attempt?: string;
  delivered?: string;
}

/** What the form may send: the server rejects unknown fields. */
export function settingsToSend(s: NotifySettings, regenerate = false): NotifySettings {
  const out: NotifySettings = {
    on_comment: s.on_comment,
    on_reply: s.on_reply,
    on_mention: s.on_mention,
    in_app: s.in_app,
    email: s.email.trim(),
    email_enabled: s.email_enabled && s.email.trim() !== '',
    webhook_url: s.webhook_url.trim(),
  };
  if (regenerate) out.regenerate_secret = true;
  return out;
}

/** A problem the form can show before asking the server, or "". */
export function checkSettings(s: NotifySettings): string {
  const email = s.email.trim();
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email)) return `"${email}" is not an e-mail address.`;
  const hook = s.webhook_url.trim();
  if (hook) {
    let u: URL;
    try {
      u = new URL(hook);
    } catch {
      return `"${hook}" is not a URL.`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'The webhook URL must start with http:// or https://.';
  }
  return '';
}

/** A delivery's state in words. */
export function describeDelivery(d: Delivery): string {
  const what = d.channel === 'email' ? `E-mail to ${d.target}` : `Webhook ${d.target}`;
  switch (d.state) {
    case 'done':
      return `${what}: sent`;
    case 'failed':
      return `${what}: gave up after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.last_error ? ` (${d.last_error})` : ''}`;
    default:
      return d.attempts
        ? `${what}: retrying (${d.attempts} failed${d.last_error ? `: ${d.last_error}` : ''})`
        : `${what}: queued`;
  }
}

async function answer<T>(r: Response): Promise<T> {
  if (r.ok) return (await r.json()) as T;
  let msg = `${r.status} ${r.statusText}`;
  try {
    const body = await r.json();
    if (body && typeof body.error === 'string') msg = body.error;
  } catch {
    /* not JSON */
  }
  throw new Error(msg);
}

export class NotificationsApi {
  constructor(private readonly apiUrl: string) {}

  async get(): Promise<NotifySettings> {
    return answer(await fetch(`${this.apiUrl}notifications/settings`, { credentials: 'same-origin', cache: 'no-store' }));
  }

  async put(s: NotifySettings, regenerate = false): Promise<NotifySettings> {
    return answer(
      await fetch(`${this.apiUrl}notifications/settings`, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(settingsToSend(s, regenerate)),
      }),
    );
  }

  async deliveries(): Promise<Delivery[]> {
    return answer(await fetch(`${this.apiUrl}notifications/deliveries`, { credentials: 'same-origin', cache: 'no-store' }));
  }
}
