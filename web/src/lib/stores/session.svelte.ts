// Who we are to the server: the user and their rights (from welcome), and
// the cookies the server asks us to keep. Components ask here what the
// user may do; a guest of a share link has fewer rights, and only this
// store knows it.
import type { Comment } from '../../proto/common';
import { setCookie } from '../cookies';
import type { Dispatcher, Send } from './dispatch';

export interface User {
  id: string;
  name: string;
}

/** What a share link lets its guests do; each level includes the ones before. */
export type GuestPermission = 'view' | 'comment' | 'download';

/** A guest of a share link (from its page's api/guest). */
export interface Guest {
  name: string;
  displayName: string;
  permission: GuestPermission;
  mediaFileId: string;
  folderId: string;
  title: string;
}

const LEVEL: Record<GuestPermission, number> = { view: 1, comment: 2, download: 3 };

export class SessionStore {
  user = $state<User | null>(null);
  isAdmin = $state(false);
  /** The server's protocol version, from welcome. */
  serverVersion = $state('');
  /** Set when this is a guest of a share link. */
  readonly guest: Guest | null;

  constructor(dispatcher: Dispatcher, private send: Send, guest: Guest | null = null) {
    this.guest = guest;
    dispatcher.on('welcome', (w) => {
      const u = w.user;
      this.user = u ? { id: u.id, name: u.name || u.id } : null;
      this.isAdmin = w.isAdmin && !guest;
      this.serverVersion = w.serverVersion;
    });
    dispatcher.on('setCookies', (sc) => {
      const exp = sc.expireTime?.getTime() ?? null;
      for (const [k, v] of Object.entries(sc.cookies)) setCookie(k, v, exp);
    });
  }

  /** Is this user name or id ours? */
  isMe(who: string): boolean {
    return !!this.user && (who === this.user.name || who === this.user.id);
  }

  private atLeast(p: GuestPermission): boolean {
    return !this.guest || LEVEL[this.guest.permission] >= LEVEL[p];
  }

  /** May we comment (and reply)? */
  get canComment(): boolean {
    return this.atLeast('comment');
  }

  /** May we download originals? (The server sends their URLs only then.) */
  get canDownload(): boolean {
    return this.atLeast('download');
  }

  /** May we manage media files (subtitles, uploads, EDL imports, sharing,
   * collaborative sessions)? Guests never. */
  get canManage(): boolean {
    return !this.guest;
  }

  /** May we share this media file with guests? Its owner or an admin (the
   * server asks the organizer too). */
  canShare(ownerId: string): boolean {
    return !this.guest && (this.isAdmin || (!!this.user && this.user.id === ownerId));
  }

  /** May the user edit or delete this comment? (The server decides; this
   * only hides what it would refuse.) A guest's own comments carry no user
   * id, only its display name. */
  canEdit(c: Comment): boolean {
    if (this.guest) return this.canComment && !c.userId && c.usernameIfnull === this.guest.displayName;
    return this.isAdmin || (!!this.user && c.userId === this.user.id);
  }

  logout() {
    this.send({ logout: {} });
  }
}
