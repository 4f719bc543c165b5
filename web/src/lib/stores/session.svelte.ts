// Who we are to the server: the user and their rights (from welcome), and
// the cookies the server asks us to keep. Components ask here what the
// user may do; a guest identity with fewer rights changes only this store.
import type { Comment } from '../../proto/common';
import { setCookie } from '../cookies';
import type { Dispatcher, Send } from './dispatch';

export interface User {
  id: string;
  name: string;
}

export class SessionStore {
  user = $state<User | null>(null);
  isAdmin = $state(false);
  /** The server's protocol version, from welcome. */
  serverVersion = $state('');

  constructor(dispatcher: Dispatcher, private send: Send) {
    dispatcher.on('welcome', (w) => {
      const u = w.user;
      this.user = u ? { id: u.id, name: u.name || u.id } : null;
      this.isAdmin = w.isAdmin;
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

  /** May the user edit or delete this comment? (The server decides; this
   * only hides what it would refuse.) */
  canEdit(c: Comment): boolean {
    return this.isAdmin || (!!this.user && c.userId === this.user.id);
  }

  logout() {
    this.send({ logout: {} });
  }
}
