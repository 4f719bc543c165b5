// The server's user messages. Each is routed: by type to the one store
// that owns that kind (progress, media file changes, new uploads), then to
// stores that claim it by content (collab join/leave notices); whatever is
// left is a notice: listed in the messages panel and toasted if new.
// A notifications store would claim or watch messages here.
import { UserMessage_Type, type UserMessage } from '../../proto/common';
import { toasts } from '../toasts.svelte';
import type { Dispatcher, Send } from './dispatch';

const SEEN_KEY = 'clapshot_messages_seen';
/** The panel keeps this many notices. */
const MAX_LISTED = 500;
/** A notice older than this is listed but not toasted (e.g. from a previous visit). */
const TOAST_MAX_AGE_MS = 60_000;

/** Told of each notice; fresh means it was new and toasted. */
export type NoticeHook = (msg: UserMessage, fresh: boolean) => void;

export class MessagesStore {
  /** Notices, newest first. */
  list = $state.raw<UserMessage[]>([]);
  lastSeenAt = $state(0);

  private byType = new Map<UserMessage_Type, (msg: UserMessage) => void>();
  private claims: ((msg: UserMessage) => boolean)[] = [];
  private noticeHooks: NoticeHook[] = [];

  constructor(dispatcher: Dispatcher, private send: Send) {
    this.lastSeenAt = Number(localStorage.getItem(SEEN_KEY) || 0);
    dispatcher.on('showMessages', (sm) => {
      for (const msg of sm.msgs) this.route(msg);
    });
  }

  /** Makes fn the owner of messages of this type: they are not notices. */
  handle(type: UserMessage_Type, fn: (msg: UserMessage) => void) {
    if (this.byType.has(type)) throw new Error(`user messages of type ${UserMessage_Type[type]} already have an owner`);
    this.byType.set(type, fn);
  }

  /** Lets fn take other messages by their content: one it returns true
   * for is not a notice. Claims are asked in the order they were made. */
  claim(fn: (msg: UserMessage) => boolean) {
    this.claims.push(fn);
  }

  /** Calls fn for every notice, after it is listed and toasted, until the
   * returned function is called. */
  onNotice(fn: NoticeHook): () => void {
    this.noticeHooks.push(fn);
    return () => {
      this.noticeHooks = this.noticeHooks.filter((h) => h !== fn);
    };
  }

  /** Asks the server for the user's messages (on every connect). */
  reload() {
    this.send({ listMyMessages: {} });
  }

  route(msg: UserMessage) {
    const owner = this.byType.get(msg.type);
    if (owner) {
      owner(msg);
      return;
    }
    for (const c of this.claims) if (c(msg)) return;
    // Live messages may come without a time: they are stamped on arrival.
    const listed = msg.created ? msg : { ...msg, created: new Date() };
    this.list = [listed, ...this.list.filter((m) => !(msg.id && m.id === msg.id))].slice(0, MAX_LISTED);
    const fresh = !msg.seen && (!msg.created || Date.now() - msg.created.getTime() < TOAST_MAX_AGE_MS);
    if (fresh) {
      const mfid = msg.refs?.mediaFileId;
      toasts.add(msg.type === UserMessage_Type.ERROR ? 'error' : 'info', (mfid ? `${mfid}: ` : '') + msg.message, { details: msg.details });
    }
    for (const h of this.noticeHooks) h(msg, fresh);
  }

  /** Notices not seen here or elsewhere since the panel was last opened. */
  get unseen(): number {
    return this.list.filter((m) => !m.seen && (m.created?.getTime() ?? 0) > this.lastSeenAt).length;
  }

  markSeen() {
    this.lastSeenAt = Date.now();
    try {
      localStorage.setItem(SEEN_KEY, String(this.lastSeenAt));
    } catch {
      /* not remembered */
    }
  }
}
