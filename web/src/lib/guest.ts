// A share link's page (/s/<token>/) asks its own API who the browser is
// to the link (api/guest), and makes it a guest: a name, and the
// passphrase if the link has one. The answer's cookie is the guest's
// (HttpOnly: the page never sees it).
import type { Guest, GuestPermission } from './stores/session.svelte';

export interface LinkInfo {
  needsPassphrase: boolean;
  permission: GuestPermission;
  kind: 'media' | 'folder';
  expires: Date | null;
  /** Set once this browser is the link's guest. */
  guest: Guest | null;
}

/** Why the link cannot be used (404, 410) or the join failed. */
export class LinkError extends Error {
  constructor(msg: string, readonly status: number, readonly retryAfter = 0) {
    super(msg);
  }
  /** The link itself is unusable (gone, revoked, expired), not the attempt. */
  get final() {
    return this.status === 404 || this.status === 410;
  }
}

interface RawInfo {
  needs_passphrase: boolean;
  permission: GuestPermission;
  kind: 'media' | 'folder';
  expires?: string;
  guest: { name: string; display_name: string; media_file_id?: string; folder_id?: string; title?: string } | null;
}

function parseInfo(j: RawInfo): LinkInfo {
  const g = j.guest;
  return {
    needsPassphrase: j.needs_passphrase,
    permission: j.permission,
    kind: j.kind,
    expires: j.expires ? new Date(j.expires) : null,
    guest: g
      ? { name: g.name, displayName: g.display_name, permission: j.permission, mediaFileId: g.media_file_id ?? '', folderId: g.folder_id ?? '', title: g.title ?? '' }
      : null,
  };
}

async function answer(r: Response): Promise<LinkInfo> {
  let j: unknown = null;
  try {
    j = await r.json();
  } catch {
    /* below */
  }
  if (!r.ok) {
    const msg = (j as { error?: string } | null)?.error ?? `The server answered HTTP ${r.status}.`;
    throw new LinkError(msg, r.status, Number(r.headers.get('Retry-After')) || 0);
  }
  return parseInfo(j as RawInfo);
}

/** What the link is, and whether this browser is its guest already. */
export async function linkInfo(base: string, fetcher: typeof fetch = fetch): Promise<LinkInfo> {
  return answer(await fetcher(new URL('api/guest', base), { cache: 'no-store', credentials: 'same-origin' }));
}

/** Becomes the link's guest. */
export async function joinLink(base: string, name: string, passphrase: string, fetcher: typeof fetch = fetch): Promise<LinkInfo> {
  return answer(
    await fetcher(new URL('api/guest', base), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, passphrase }),
    }),
  );
}
