// Guest share links of one media file or folder, as its owner manages
// them in the Share dialog: the list (from /api/shares), making a link
// (whose full URL the server shows only then), revoking one. The server
// keeps only a hash of each link's secret, so this browser remembers the
// URLs of the links it made, to copy them again later.

export type Permission = 'view' | 'comment' | 'download';

/** What is shared: a media file or an organizer folder. */
export interface ShareTarget {
  mediaFileId?: string;
  folderId?: string;
  title: string;
}

/** A link as /api/shares lists it. */
export interface ShareLink {
  id: string;
  media_file_id?: string;
  media_title?: string;
  folder_id?: string;
  folder_title?: string;
  permission: Permission;
  has_passphrase: boolean;
  label: string;
  created_by: string;
  created: string;
  expires?: string;
  revoked?: string;
  state: 'active' | 'expired' | 'revoked';
  guests: number;
}

export interface NewLink {
  permission: Permission;
  passphrase: string;
  /** When it stops working, or null: never. */
  expires: Date | null;
  label: string;
}

export const PERMISSIONS: { value: Permission; label: string; desc: string }[] = [
  { value: 'view', label: 'View', desc: 'watch and read the comments' },
  { value: 'comment', label: 'View and comment', desc: 'also comment, and edit or delete their own comments' },
  { value: 'download', label: 'View, comment and download', desc: 'also download the original file' },
];

const REMEMBERED = 'clapshot_share_links';

type Fetch = typeof fetch;

/** The answer's {"error": ...}, or its status. */
async function failure(r: Response): Promise<string> {
  try {
    const j = await r.json();
    if (j && typeof j.error === 'string') return j.error;
  } catch {
    /* not JSON */
  }
  return `HTTP ${r.status} ${r.statusText}`.trim();
}

export class SharesStore {
  links = $state.raw<ShareLink[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  /** The link just made: its full URL, shown until the dialog closes. */
  created = $state<{ link: ShareLink; url: string } | null>(null);

  /**
   * @param apiUrl  /api/shares (absolute)
   * @param appUrl  the app's root URL, which links are relative to
   */
  constructor(private target: ShareTarget, private apiUrl: string, private appUrl: string, private fetcher: Fetch = fetch.bind(globalThis)) {}

  private query(): string {
    const q = new URLSearchParams();
    if (this.target.mediaFileId) q.set('media_file_id', this.target.mediaFileId);
    if (this.target.folderId) q.set('folder_id', this.target.folderId);
    return q.toString();
  }

  async load() {
    this.loading = true;
    try {
      const r = await this.fetcher(`${this.apiUrl}?${this.query()}`, { credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error(await failure(r));
      const j = await r.json();
      this.links = (j.links as ShareLink[]).filter((l) => !this.target.folderId || l.folder_id === this.target.folderId);
      this.error = null;
    } catch (e) {
      this.error = `Cannot list the links: ${(e as Error).message}`;
    } finally {
      this.loading = false;
    }
  }

  /** Makes a link; its URL is in `created` (and remembered). */
  async create(n: NewLink): Promise<boolean> {
    const body: Record<string, string> = { permission: n.permission, label: n.label.trim() };
    if (this.target.mediaFileId) body.media_file_id = this.target.mediaFileId;
    if (this.target.folderId) {
      body.folder_id = this.target.folderId;
      body.folder_title = this.target.title;
    }
    if (n.passphrase) body.passphrase = n.passphrase;
    if (n.expires) body.expires = n.expires.toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      const r = await this.fetcher(this.apiUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(await failure(r));
      const j = await r.json();
      const url = new URL(j.path, this.appUrl).toString();
      this.remember(j.link.id, url);
      this.created = { link: j.link, url };
      this.error = null;
      await this.load();
      return true;
    } catch (e) {
      this.error = `Cannot make the link: ${(e as Error).message}`;
      return false;
    }
  }

  async revoke(id: string): Promise<boolean> {
    try {
      const r = await this.fetcher(`${this.apiUrl}/${encodeURIComponent(id)}`, { method: 'DELETE', credentials: 'same-origin' });
      if (!r.ok) throw new Error(await failure(r));
      this.forget(id);
      if (this.created?.link.id === id) this.created = null;
      this.error = null;
      await this.load();
      return true;
    } catch (e) {
      this.error = `Cannot revoke the link: ${(e as Error).message}`;
      return false;
    }
  }

  /** The URL of a link this browser made, if it still knows it. */
  urlOf(id: string): string | null {
    return this.remembered()[id] ?? null;
  }

  private remembered(): Record<string, string> {
    try {
      const v = JSON.parse(localStorage.getItem(REMEMBERED) || '{}');
      return v && typeof v === 'object' ? v : {};
    } catch {
      return {};
    }
  }

  private remember(id: string, url: string) {
    try {
      localStorage.setItem(REMEMBERED, JSON.stringify({ ...this.remembered(), [id]: url }));
    } catch {
      /* storage full or off: copy it now */
    }
  }

  private forget(id: string) {
    const all = this.remembered();
    delete all[id];
    try {
      localStorage.setItem(REMEMBERED, JSON.stringify(all));
    } catch {
      /* nothing to forget */
    }
  }
}

/** How a link's state reads in the list. */
export function describeLink(l: ShareLink, now = new Date()): string {
  const perm = PERMISSIONS.find((p) => p.value === l.permission)?.label ?? l.permission;
  const parts = [perm];
  if (l.has_passphrase) parts.push('passphrase');
  if (l.state === 'revoked') parts.push('revoked');
  else if (l.state === 'expired') parts.push('expired');
  else if (l.expires) {
    const d = new Date(l.expires);
    const days = Math.round((d.getTime() - now.getTime()) / 86_400_000);
    parts.push(days >= 1 ? `expires in ${days} day${days === 1 ? '' : 's'}` : `expires ${d.toLocaleTimeString()}`);
  } else parts.push('never expires');
  parts.push(l.guests === 1 ? '1 guest' : `${l.guests} guests`);
  return parts.join(' · ');
}
