// The app root: builds the connection and the stores, and wires them
// together. Each store owns one concern's state and registers its own
// server message handlers with the dispatcher; components get the stores
// they need from context (stores/context.ts), never this object.
//
//   stores/dispatch.ts         server messages -> the stores that handle them
//   stores/router.ts           the URL (?vid=, &collab=, ?p=) and history
//   stores/session.svelte.ts   who we are (welcome), rights, server cookies
//   stores/messages.svelte.ts  user messages: routed by type/claim, the rest listed
//   stores/progress.svelte.ts  processing progress per media file
//   stores/navigation.svelte.ts  page or media view, organizer pages, stale answers
//   stores/media.svelte.ts     the open media file, its subtitles
//   stores/comments.svelte.ts  the open file's comments
//   stores/collab.svelte.ts    the collaborative session
//   stores/organizer.svelte.ts organizer actions, scripts, window.clapshot
//   stores/versions.svelte.ts  the open file's version stack, earlier versions' comments
//   stores/compare.svelte.ts   the compare view (another version beside the open one)
//   stores/live.svelte.ts      live cameras (HTTP, not the websocket): the Live page
//   upload.svelte.ts           uploads in progress
//
// A new store: its own file in stores/, constructed here after what it
// needs, its handlers registered in its constructor, and a context in
// stores/context.ts for its components. Where the planned features fit:
//   a Live page        its own store; a case in navigation's View, a Route
//                      parameter in router.ts, a branch in App.svelte
//   guest share links  (done) the guest and its rights in session (canComment,
//                      canManage and kin); the page (Root.svelte, GuestLanding)
//                      is the link's own, /s/<token>/, so the router is the same;
//                      the owner's side is stores/shares.svelte.ts (ShareDialog)
//   version stacks, compare view
//                      a store that follows media.onSwitch; compare is a View
//   notifications      a store that claims or watches user messages
//                      (messages.claim / onNotice)
//   comment export     reads comments.list; the menu lives in the player
import { UserMessage_Type } from '../proto/common';
import { Connection } from './connection.svelte';
import { Drawing } from './drawing.svelte';
import { PlayerController } from './player.svelte';
import type { Settings } from './settings';
import { CollabStore } from './stores/collab.svelte';
import { CommentsStore } from './stores/comments.svelte';
import { CompareStore } from './stores/compare.svelte';
import { Dispatcher, type Send } from './stores/dispatch';
import { LiveStore } from './stores/live.svelte';
import { MediaStore } from './stores/media.svelte';
import { MessagesStore } from './stores/messages.svelte';
import { NavigationStore } from './stores/navigation.svelte';
import { OrganizerStore } from './stores/organizer.svelte';
import { ProgressStore } from './stores/progress.svelte';
import { Router } from './stores/router';
import { SessionStore, type Guest } from './stores/session.svelte';
import { VersionsStore } from './stores/versions.svelte';
import { toasts } from './toasts.svelte';
import { Uploads } from './upload.svelte';

export class App {
  readonly settings: Settings;
  readonly conn: Connection;
  readonly dispatcher: Dispatcher;
  readonly router: Router;
  readonly player = new PlayerController();
  readonly drawing = new Drawing();
  readonly session: SessionStore;
  readonly messages: MessagesStore;
  readonly progress: ProgressStore;
  readonly media: MediaStore;
  readonly comments: CommentsStore;
  readonly collab: CollabStore;
  readonly nav: NavigationStore;
  readonly organizer: OrganizerStore;
  readonly versions: VersionsStore;
  readonly compare: CompareStore;
  readonly live: LiveStore;
  readonly uploads = new Uploads();

  private unlisten: (() => void) | null = null;

  /** @param guest a share link's guest, on the link's page */
  constructor(settings: Settings, router = new Router(), guest: Guest | null = null) {
    this.settings = settings;
    this.router = router;
    this.conn = new Connection({
      wsUrl: settings.wsUrl,
      healthUrl: settings.healthUrl,
      onOpen: () => this.onConnected(),
      onMessage: (m) => this.dispatcher.dispatch(m),
      onProtocolError: (e) => toasts.add('error', e),
      // A link that is gone or has ended stays so.
      finalStatuses: guest ? [404, 410] : undefined,
    });
    const send: Send = (cmd) => this.conn.send(cmd);
    const dispatcher = (this.dispatcher = new Dispatcher((e, m) => {
      console.error('Handling a server message failed', e, m);
      toasts.add('error', `Client error: ${e.message}`);
    }));
    dispatcher.on('error', (e) => toasts.add('error', e.msg || 'The server reported an error'));

    const { player, drawing } = this;
    player.onSeekStart = () => {
      if (drawing.mode === 'view') drawing.stop();
    };
    this.session = new SessionStore(dispatcher, send, guest);
    const messages = (this.messages = new MessagesStore(dispatcher, send));
    this.progress = new ProgressStore(messages);
    this.media = new MediaStore(player, drawing, send);
    this.comments = new CommentsStore(dispatcher, this.media, send);
    this.compare = new CompareStore(this.media);
    this.collab = new CollabStore({ dispatcher, messages, session: this.session, media: this.media, router, player, drawing, send, compare: this.compare });
    this.compare.onChange = () => this.collab.report();
    this.nav = new NavigationStore({ dispatcher, messages, router, media: this.media, collab: this.collab, send, appTitle: settings.appTitle });
    this.organizer = new OrganizerStore({ dispatcher, messages, nav: this.nav, send });
    this.versions = new VersionsStore({ dispatcher, media: this.media, player, send, open: (id) => this.nav.openMedia(id) });
    this.live = new LiveStore(settings.liveUrl);
    // The server names the file it refused; its upload row shows why.
    messages.onNotice((m) => {
      if (m.type === UserMessage_Type.ERROR && !m.seen) this.uploads.noteRejected(`${m.message} ${m.details ?? ''}`.trim());
    });
  }

  start() {
    (window as unknown as { clapshot: unknown }).clapshot = this.organizer.scriptApi();
    this.unlisten = this.router.listen((r) => this.nav.followUrl(r));
    this.conn.start();
  }

  stop() {
    this.unlisten?.();
    this.unlisten = null;
    this.conn.stop();
  }

  /** On every (re)connect: reopen what the user was looking at. */
  onConnected() {
    this.nav.reopen();
    this.messages.reload();
    // Cameras may have been added, or this user allowed, meanwhile.
    void this.live.refresh();
  }
}
