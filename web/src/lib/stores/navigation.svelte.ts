// What the main view shows: an organizer page (its items and title), a
// media file or the Live page, and getting from one to the other. Pages and files arrive
// asynchronously and can cross in flight, so this store also decides which
// answers are stale: a page arriving while a file the user asked for is on
// its way, or the answer to a refresh of a page the user has left.
//
// A new kind of view adds its case to View, a Route parameter, and a
// branch in App.svelte; its own state goes in its own store (the Live
// page's cameras: stores/live.svelte.ts).
import { UserMessage_Type, type MediaFile, type PageItem } from '../../proto/common';
import { toasts } from '../toasts.svelte';
import type { CollabStore } from './collab.svelte';
import type { Dispatcher, Send } from './dispatch';
import type { MediaStore } from './media.svelte';
import type { MessagesStore } from './messages.svelte';
import type { Route, Router } from './router';

/** page: an organizer page; opening: a media file asked for, not here yet;
 * media: a media file; live: the live cameras (grid or one camera's player). */
export type View = 'page' | 'opening' | 'media' | 'live';

/** An answer older than this is no longer waited for. */
const STALE_MS = 10_000;
/** Refresh triggers within this time make one refresh. */
const REFRESH_DELAY_MS = 400;

export interface NavigationDeps {
  dispatcher: Dispatcher;
  messages: MessagesStore;
  router: Router;
  media: MediaStore;
  collab: CollabStore;
  send: Send;
  /** The browser tab's title, with the page's or file's name before it. */
  appTitle: string;
}

export class NavigationStore {
  pageItems = $state.raw<PageItem[]>([]);
  pageId = $state<string | null>(null);
  pageTitle = $state<string | null>(null);
  /** True once the first page (or media) has arrived after connecting. */
  loaded = $state(false);
  /** The media file asked for (from the URL or a click), or shown. */
  mediaId = $state<string | null>(null);
  /** The Live page: null when not shown, "" for the grid, else the stream
   * id whose player is open. */
  live = $state<string | null>(null);

  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** A media file the user asked to open, until the server answers. Pages
   * arriving meanwhile answer older requests (e.g. a refresh) and must not
   * take the user back. */
  private pendingMedia: { id: string; at: number } | null = null;
  /** When a command that brings a new page was sent (0: none pending). A
   * refresh sent meanwhile would ask for the page being left, and its
   * answer could arrive after the new one. */
  private awaitingPageSince = 0;
  /** A refresh sent and not answered yet; if the user navigates meanwhile,
   * its (stale) answer is dropped whenever it comes. */
  private refreshInFlight: { pageId: string | null; at: number } | null = null;
  private dropStalePage: { pageId: string | null; at: number } | null = null;

  constructor(private d: NavigationDeps) {
    d.dispatcher.on('error', () => {
      this.pendingMedia = null;
    });
    d.dispatcher.on('showPage', (sp) => this.onShowPage(sp.pageItems, sp.pageId ?? null, sp.pageTitle ?? null));
    d.dispatcher.on('openMediaFile', (om) => this.onOpenMediaFile(om.mediaFile));
    d.messages.handle(UserMessage_Type.MEDIA_FILE_UPDATED, (m) => {
      const mfid = m.refs?.mediaFileId;
      if (mfid && this.d.media.file?.id === mfid) this.d.send({ openMediaFile: { mediaFileId: mfid } });
      this.scheduleRefresh();
    });
    // A new notice (e.g. "upload done") often means the page changed.
    d.messages.onNotice((m, fresh) => {
      if (fresh && m.type !== UserMessage_Type.ERROR) this.scheduleRefresh();
    });
    this.adopt(d.router.current());
  }

  get view(): View {
    if (this.mediaId) return this.d.media.file ? 'media' : 'opening';
    return this.live !== null ? 'live' : 'page';
  }

  /** Takes the place the URL names, without asking the server. */
  private adopt(route: Route) {
    this.mediaId = route.vid ?? null;
    this.d.collab.follow(route.collab ?? null);
    this.pageId = route.p ?? null;
    this.live = this.mediaId ? null : (route.live ?? null);
  }

  /** The user went Back or Forward: show what that URL names. */
  followUrl(route: Route) {
    this.adopt(route);
    if (this.mediaId) {
      this.openMedia(this.mediaId);
    } else if (this.live !== null) {
      this.showLive();
    } else {
      this.pendingMedia = null;
      this.closeMedia();
      this.d.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
    }
  }

  /** On every (re)connect: reopen what the user was looking at. The Live
   * page needs nothing from the websocket. */
  reopen() {
    if (this.mediaId) this.d.send({ openMediaFile: { mediaFileId: this.mediaId } });
    else if (this.live !== null) this.loaded = true;
    else this.d.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
  }

  /** Opens the Live page: the grid (no id) or one stream's player. */
  openLive(streamId: string | null = null) {
    const live = streamId ?? '';
    if (this.live === live && !this.mediaId) return;
    this.live = live;
    this.d.router.push({ live });
    this.showLive();
  }

  /** Leaves whatever was shown for the Live page in this.live. */
  private showLive() {
    this.pendingMedia = null;
    this.awaitingPageSince = 0;
    this.cancelRefresh();
    this.closeMedia();
    this.loaded = true;
    document.title = `Live – ${this.d.appTitle}`;
  }

  openMedia(id: string) {
    this.pendingMedia = { id, at: Date.now() };
    this.cancelRefresh();
    this.d.send({ openMediaFile: { mediaFileId: id } });
  }

  goHome() {
    this.pendingMedia = null;
    this.expectPage();
    this.d.collab.end();
    this.d.send({ openNavigationPage: {} });
  }

  openPage(pageId: string | null) {
    this.pendingMedia = null;
    this.expectPage();
    this.d.send({ openNavigationPage: { pageId: pageId ?? undefined } });
  }

  /** A command that will bring a new page was sent (a navigation, or an
   * organizer command): no refresh of the old one until it arrives. */
  expectPage() {
    this.awaitingPageSince = Date.now();
    if (this.refreshInFlight && this.awaitingPageSince - this.refreshInFlight.at < STALE_MS) {
      this.dropStalePage = { pageId: this.refreshInFlight.pageId, at: this.awaitingPageSince };
    }
    this.refreshInFlight = null;
    this.cancelRefresh();
  }

  /** Reloads the current page soon (several triggers coalesce). */
  scheduleRefresh() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (this.awaitingPageSince && Date.now() - this.awaitingPageSince < STALE_MS) return;
      if (!this.mediaId && !this.pendingMedia && this.live === null) {
        this.refreshInFlight = { pageId: this.pageId, at: Date.now() };
        this.d.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
      }
    }, REFRESH_DELAY_MS);
  }

  private cancelRefresh() {
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  private onShowPage(items: PageItem[], pageId: string | null, title: string | null) {
    const now = Date.now();
    if (this.pendingMedia && now - this.pendingMedia.at < STALE_MS) return;
    // On the Live page only a page the user asked for (Home) takes them away.
    if (this.live !== null && !(this.awaitingPageSince && now - this.awaitingPageSince < STALE_MS)) return;
    if (this.dropStalePage && now - this.dropStalePage.at < STALE_MS && this.dropStalePage.pageId === pageId) {
      this.dropStalePage = null;
      return;
    }
    if (this.refreshInFlight?.pageId === pageId) this.refreshInFlight = null;
    this.pendingMedia = null;
    this.awaitingPageSince = 0;
    const wasElsewhere = this.mediaId !== null || this.live !== null;
    if (pageId !== this.pageId || wasElsewhere) this.d.router.push({ p: pageId });
    this.live = null;
    this.closeMedia();
    this.pageId = pageId;
    this.pageTitle = title;
    this.pageItems = items;
    this.loaded = true;
    document.title = title ? `${title} – ${this.d.appTitle}` : this.d.appTitle;
  }

  /** Leaves the media view (and its collab session). */
  private closeMedia() {
    this.d.collab.end();
    this.mediaId = null;
    this.d.media.close();
  }

  private onOpenMediaFile(mf: MediaFile | undefined) {
    if (!mf || !mf.id) {
      toasts.add('error', 'The server sent an unusable media file');
      return;
    }
    if (this.pendingMedia?.id === mf.id) this.pendingMedia = null;
    const { media, collab, router } = this.d;
    if (media.file?.id !== mf.id && (this.mediaId !== mf.id || !router.saved?.vid)) {
      router.push({ vid: mf.id, collab: collab.id });
    }
    media.show(mf);
    this.mediaId = mf.id;
    this.live = null;
    this.loaded = true;
    document.title = `${mf.title || mf.id} – ${this.d.appTitle}`;
    collab.rejoin(mf.id);
  }
}
