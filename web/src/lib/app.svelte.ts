// The app's state and the server protocol's effects on it. Components read
// this state and call these methods; nothing else talks to the server.
import type { ServerToClientCmd_CollabEvent } from '../proto/client';
import {
  ScriptCall_Lang, UserMessage_Type,
  type ActionDef, type Comment, type FolderItemID, type MediaFile, type PageItem, type PageItem_FolderListing_Item,
  type ScriptCall, type Subtitle, type UserMessage,
} from '../proto/common';
import { upsertComments } from './comments';
import { Connection } from './connection.svelte';
import { setCookie } from './cookies';
import { Drawing } from './drawing.svelte';
import { PlayerController, type UserAction } from './player.svelte';
import type { Command, ServerMessage } from './protocol';
import type { Settings } from './settings';
import { toasts } from './toasts.svelte';

export interface Progress {
  msg: string;
  progress?: number;
  at: number;
}

export interface CollabState {
  id: string;
  /** Who last controlled playback, and when. */
  controller: string | null;
  /** Users seen in this session (from their actions), and ourselves. */
  participants: string[];
}

type StringMap = Record<string, string>;

/** How long a progress report stays without news. */
const PROGRESS_TTL_MS = 30_000;

export class App {
  settings: Settings;
  conn: Connection;

  user = $state<{ id: string; name: string } | null>(null);
  isAdmin = $state(false);
  serverVersion = $state('');

  actions = $state.raw<Record<string, ActionDef>>({});
  pageItems = $state.raw<PageItem[]>([]);
  pageId = $state<string | null>(null);
  pageTitle = $state<string | null>(null);
  /** True once the first page (or media) has arrived after connecting. */
  loaded = $state(false);

  /** The media file asked for (from the URL or a click), and the one open. */
  mediaId = $state<string | null>(null);
  media = $state.raw<MediaFile | null>(null);
  comments = $state.raw<Comment[]>([]);
  subtitleId = $state<string | null>(null);

  messages = $state.raw<UserMessage[]>([]);
  lastSeenMessageAt = $state(0);
  progress = $state.raw<Record<string, Progress>>({});

  collab = $state<CollabState | null>(null);

  player = new PlayerController();
  drawing = new Drawing();

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
  /** Called with each error message from the server (text and details). */
  onServerError: (text: string) => void = () => {};
  /** Suppresses collab reports while applying a remote event. */
  private applyingRemote = false;
  /** Our recent collab reports: the server relays them back to us too. */
  private sentReports: { paused: boolean; loop: boolean; seek: number; at: number }[] = [];

  constructor(settings: Settings) {
    this.settings = settings;
    this.conn = new Connection({
      wsUrl: settings.wsUrl,
      healthUrl: settings.healthUrl,
      onOpen: () => this.onOpen(),
      onMessage: (m) => this.handle(m),
      onProtocolError: (e) => toasts.add('error', e),
    });
    this.lastSeenMessageAt = Number(localStorage.getItem('clapshot_messages_seen') || 0);
    this.player.onUserAction = (a) => this.reportCollab(a);
    this.player.onSeekStart = () => {
      if (this.drawing.mode === 'view') this.drawing.stop();
    };
    this.drawing.onChange = () => this.reportCollab('seek');
    this.readUrl();
  }

  start() {
    window.addEventListener('popstate', this.onPopState);
    this.conn.start();
  }

  send(cmd: Command) {
    this.conn.send(cmd);
  }

  // ---------------------------------------------------------------- URL

  private readUrl() {
    const q = new URLSearchParams(location.search);
    this.mediaId = q.get('vid');
    const collab = q.get('collab');
    this.collab = collab && this.mediaId ? { id: collab, controller: null, participants: [] } : null;
    this.pageId = q.get('p');
  }

  /** The app's own URL for a state, relative to the page so any path prefix is kept. */
  urlFor(state: { vid?: string | null; collab?: string | null; p?: string | null }): string {
    const q = new URLSearchParams();
    if (state.vid) q.set('vid', state.vid);
    if (state.vid && state.collab) q.set('collab', state.collab);
    if (!state.vid && state.p) q.set('p', state.p);
    const s = q.toString();
    return s ? `?${s}` : location.pathname;
  }

  private onPopState = () => {
    const prevCollab = this.collab;
    this.readUrl();
    if (prevCollab && prevCollab.id !== this.collab?.id) this.send({ leaveCollab: {} });
    if (this.mediaId) {
      this.openMedia(this.mediaId);
    } else {
      this.pendingMedia = null;
      this.closeMedia(false);
      this.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
    }
  };

  // ----------------------------------------------------------- Protocol

  /** On every (re)connect: reopen what the user was looking at. */
  private onOpen() {
    if (this.mediaId) {
      this.send({ openMediaFile: { mediaFileId: this.mediaId } });
    } else {
      this.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
    }
    this.send({ listMyMessages: {} });
  }

  handle(m: ServerMessage) {
    try {
      this.dispatch(m);
    } catch (e) {
      console.error('Handling a server message failed', e, m);
      toasts.add('error', `Client error: ${(e as Error).message}`);
    }
  }

  private dispatch(m: ServerMessage) {
    if (m.welcome) {
      const u = m.welcome.user;
      this.user = u ? { id: u.id, name: u.name || u.id } : null;
      this.isAdmin = m.welcome.isAdmin;
      this.serverVersion = m.welcome.serverVersion;
    } else if (m.error) {
      this.pendingMedia = null;
      toasts.add('error', m.error.msg || 'The server reported an error');
    } else if (m.showPage) {
      this.onShowPage(m.showPage.pageItems, m.showPage.pageId ?? null, m.showPage.pageTitle ?? null);
    } else if (m.defineActions) {
      this.actions = { ...this.actions, ...m.defineActions.actions };
    } else if (m.showMessages) {
      for (const msg of m.showMessages.msgs) this.onUserMessage(msg);
    } else if (m.openMediaFile) {
      this.onOpenMediaFile(m.openMediaFile.mediaFile);
    } else if (m.addComments) {
      this.queueComments(m.addComments.comments);
    } else if (m.delComment) {
      this.flushComments();
      const id = m.delComment.commentId;
      this.comments = this.comments.filter((c) => c.id !== id);
    } else if (m.collabEvent) {
      this.onCollabEvent(m.collabEvent);
    } else if (m.setCookies) {
      const exp = m.setCookies.expireTime?.getTime() ?? null;
      for (const [k, v] of Object.entries(m.setCookies.cookies)) setCookie(k, v, exp);
    }
  }

  /** Comments arriving one by one (an import, a busy session) are applied
   * together once per frame, not re-threaded for each. */
  private incoming: Comment[] = [];
  private incomingFrame = 0;
  private queueComments(list: Comment[]) {
    this.incoming.push(...list);
    if (this.incomingFrame) return;
    this.incomingFrame = requestAnimationFrame(() => this.flushComments());
  }
  private flushComments() {
    this.incomingFrame = 0;
    const list = this.incoming;
    this.incoming = [];
    if (this.media && list.length) this.comments = upsertComments(this.comments, list, this.media.id);
  }

  private onShowPage(items: PageItem[], pageId: string | null, title: string | null) {
    if (this.pendingMedia && Date.now() - this.pendingMedia.at < 10_000) return;
    const now = Date.now();
    if (this.dropStalePage && now - this.dropStalePage.at < 10_000 && this.dropStalePage.pageId === pageId) {
      this.dropStalePage = null;
      return;
    }
    if (this.refreshInFlight?.pageId === pageId) this.refreshInFlight = null;
    this.pendingMedia = null;
    this.awaitingPageSince = 0;
    const wasMedia = this.mediaId !== null;
    if (pageId !== this.pageId || wasMedia) {
      history.pushState({ p: pageId }, '', this.urlFor({ p: pageId }));
    }
    this.closeMedia(wasMedia);
    this.pageId = pageId;
    this.pageTitle = title;
    this.pageItems = items;
    this.loaded = true;
    document.title = title ? `${title} – ${this.settings.appTitle}` : this.settings.appTitle;
  }

  private closeMedia(sendLeave: boolean) {
    if (this.collab && sendLeave) this.send({ leaveCollab: {} });
    this.collab = null;
    this.mediaId = null;
    this.media = null;
    this.comments = [];
    this.subtitleId = null;
    this.drawing.stop();
    this.drawing.reset();
  }

  private onOpenMediaFile(mf: MediaFile | undefined) {
    if (!mf || !mf.id) {
      toasts.add('error', 'The server sent an unusable media file');
      return;
    }
    if (this.pendingMedia?.id === mf.id) this.pendingMedia = null;
    const same = this.media?.id === mf.id;
    if (!same) {
      if (this.mediaId !== mf.id || !history.state?.vid) {
        history.pushState({ vid: mf.id }, '', this.urlFor({ vid: mf.id, collab: this.collab?.id }));
      }
      this.comments = [];
      this.drawing.stop();
      this.drawing.reset();
      this.player.setRate(mf.duration?.fps);
      const def = mf.defaultSubtitleId && mf.subtitles.some((s) => s.id === mf.defaultSubtitleId) ? mf.defaultSubtitleId : null;
      this.subtitleId = def;
    } else {
      if (this.subtitleId && !mf.subtitles.some((s) => s.id === this.subtitleId)) this.subtitleId = null;
      // The transcoded file replaced the original: carry on where we were.
      if (this.media?.playbackUrl !== mf.playbackUrl && this.player.video) {
        this.player.resumeAt = this.player.video.currentTime;
        this.player.pause(false);
      }
    }
    this.mediaId = mf.id;
    this.media = mf;
    this.loaded = true;
    document.title = `${mf.title || mf.id} – ${this.settings.appTitle}`;
    if (this.collab) this.send({ joinCollab: { collabId: this.collab.id, mediaFileId: mf.id } });
  }

  private onUserMessage(msg: UserMessage) {
    const mfid = msg.refs?.mediaFileId;
    switch (msg.type) {
      case UserMessage_Type.PROGRESS:
        if (mfid) this.setProgress(mfid, msg.message, msg.progress);
        return;
      case UserMessage_Type.MEDIA_FILE_UPDATED:
        if (mfid && this.media?.id === mfid) this.send({ openMediaFile: { mediaFileId: mfid } });
        this.scheduleRefresh();
        return;
      case UserMessage_Type.MEDIA_FILE_ADDED:
        this.onMediaFileAdded(msg);
        return;
    }
    if (this.trackCollabMembers(msg.message)) {
      if (!msg.seen) toasts.add('info', msg.message);
      return;
    }
    // OK and ERROR: the messages panel (live ones may come without a time:
    // they are stamped on arrival), and a toast if new.
    const listed = msg.created ? msg : { ...msg, created: new Date() };
    this.messages = [listed, ...this.messages.filter((m) => !(msg.id && m.id === msg.id))].slice(0, 500);
    if (msg.type === UserMessage_Type.ERROR && !msg.seen) this.onServerError(`${msg.message} ${msg.details ?? ''}`.trim());
    if (!msg.seen && (!msg.created || Date.now() - msg.created.getTime() < 60_000)) {
      const err = msg.type === UserMessage_Type.ERROR;
      toasts.add(err ? 'error' : 'info', (mfid ? `${mfid}: ` : '') + msg.message, { details: msg.details });
      if (!err) this.scheduleRefresh();
    }
    if (msg.progress !== undefined && mfid) this.setProgress(mfid, msg.message, msg.progress);
  }

  private setProgress(mediaFileId: string, msg: string, progress?: number) {
    const next = { ...this.progress };
    if (progress !== undefined && progress >= 1) delete next[mediaFileId];
    else next[mediaFileId] = { msg, progress, at: Date.now() };
    this.progress = next;
    setTimeout(() => this.expireProgress(), PROGRESS_TTL_MS + 100);
  }

  private expireProgress() {
    const now = Date.now();
    const next: Record<string, Progress> = {};
    for (const [k, p] of Object.entries(this.progress)) if (now - p.at < PROGRESS_TTL_MS) next[k] = p;
    if (Object.keys(next).length !== Object.keys(this.progress).length) this.progress = next;
  }

  private onMediaFileAdded(msg: UserMessage) {
    let cookies: StringMap = {};
    try {
      cookies = JSON.parse(msg.details || '{}');
    } catch {
      cookies = {};
    }
    const actionName = cookies.media_file_added_action;
    if (!actionName) {
      this.scheduleRefresh();
      return;
    }
    const action = this.actions[actionName];
    if (!action?.action) {
      toasts.add('error', `The organizer's action "${actionName}" for new uploads is not defined`);
      this.scheduleRefresh();
      return;
    }
    let listingData: StringMap = {};
    try {
      listingData = JSON.parse(cookies.listing_data_json || '{}');
    } catch {
      listingData = {};
    }
    this.runScript(action.action, { media_file_id: msg.refs?.mediaFileId, listing_data: listingData });
  }

  /** Reloads the current page soon (several triggers coalesce). */
  scheduleRefresh() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (this.awaitingPageSince && Date.now() - this.awaitingPageSince < 10_000) return;
      if (!this.mediaId && !this.pendingMedia) {
        this.refreshInFlight = { pageId: this.pageId, at: Date.now() };
        this.send({ openNavigationPage: { pageId: this.pageId ?? undefined } });
      }
    }, 400);
  }

  get unseenMessages() {
    return this.messages.filter((m) => !m.seen && (m.created?.getTime() ?? 0) > this.lastSeenMessageAt).length;
  }

  markMessagesSeen() {
    this.lastSeenMessageAt = Date.now();
    try {
      localStorage.setItem('clapshot_messages_seen', String(this.lastSeenMessageAt));
    } catch {
      /* not remembered */
    }
  }

  // ------------------------------------------------------------ Actions

  /** A command that will bring a new page was sent: no refresh of the old
   * one until it arrives. */
  private navigating() {
    this.awaitingPageSince = Date.now();
    if (this.refreshInFlight && this.awaitingPageSince - this.refreshInFlight.at < 10_000) {
      this.dropStalePage = { pageId: this.refreshInFlight.pageId, at: this.awaitingPageSince };
    }
    this.refreshInFlight = null;
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  openMedia(id: string) {
    this.pendingMedia = { id, at: Date.now() };
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
    this.send({ openMediaFile: { mediaFileId: id } });
  }

  goHome() {
    this.pendingMedia = null;
    this.navigating();
    if (this.collab) this.send({ leaveCollab: {} });
    this.collab = null;
    this.send({ openNavigationPage: {} });
  }

  openPage(pageId: string | null) {
    this.pendingMedia = null;
    this.navigating();
    this.send({ openNavigationPage: { pageId: pageId ?? undefined } });
  }

  /** Runs an organizer-provided script (trusted, like its HTML). */
  runScript(script: ScriptCall | undefined, args: object) {
    if (!script?.code) return;
    if (script.lang !== ScriptCall_Lang.JAVASCRIPT) {
      toasts.add('error', 'The organizer sent a script in an unsupported language');
      return;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      const fn = new Function('_action_args', script.code);
      fn(args);
    } catch (e) {
      console.error('Organizer script failed', e, script.code);
      toasts.add('error', `Organizer script error: ${(e as Error).message}`);
    }
  }

  openItem(item: PageItem_FolderListing_Item, listingData: StringMap) {
    if (item.openAction) this.runScript(item.openAction, { item_to_open: item, listing_data: listingData });
    else if (item.mediaFile) this.openMedia(item.mediaFile.id);
  }

  runAction(name: string, args: object) {
    const a = this.actions[name];
    if (!a?.action) {
      toasts.add('error', `Action "${name}" is not defined`);
      return;
    }
    this.runScript(a.action, args);
  }

  moveToFolder(dstFolderId: string, ids: FolderItemID[], listingData: StringMap) {
    this.navigating();
    this.send({ moveToFolder: { dstFolderId, ids, listingData } });
  }

  reorderItems(ids: FolderItemID[], listingData: StringMap) {
    this.navigating();
    this.send({ reorderItems: { ids, listingData } });
  }

  /** The API organizer scripts call (window.clapshot), as in Clapshot. */
  scriptApi() {
    return {
      openMediaFile: (mediaFileId: string) => this.openMedia(mediaFileId),
      renameMediaFile: (mediaFileId: string, newName: string) => this.send({ renameMediaFile: { mediaFileId, newName } }),
      delMediaFile: (mediaFileId: string) => this.send({ delMediaFile: { mediaFileId } }),
      callOrganizer: (cmd: string, args: unknown) => {
        this.navigating();
        this.send({ organizerCmd: { cmd, args: JSON.stringify(args) } });
      },
      itemsToIDs: (items: PageItem_FolderListing_Item[]): FolderItemID[] => itemsToIDs(items),
      moveToFolder: (dstFolderId: string, ids: FolderItemID[], listingData: StringMap) => this.moveToFolder(dstFolderId, ids, listingData),
      reorderItems: (ids: FolderItemID[], listingData: StringMap) => this.reorderItems(ids, listingData),
    };
  }

  // ----------------------------------------------------------- Comments

  addComment(c: { comment: string; timecode?: string; timecodeEnd?: string; drawing?: string; parentId?: string }) {
    if (!this.media) return;
    this.send({
      addComment: {
        mediaFileId: this.media.id,
        comment: c.comment,
        timecode: c.timecode,
        timecodeEnd: c.timecodeEnd,
        drawing: c.drawing,
        parentId: c.parentId,
        subtitleId: c.parentId ? undefined : (this.subtitleId ?? undefined),
      },
    });
  }

  editComment(id: string, text: string) {
    this.send({ editComment: { commentId: id, newComment: text } });
  }

  delComment(id: string) {
    this.send({ delComment: { commentId: id } });
  }

  canEdit(c: Comment) {
    return this.isAdmin || (!!this.user && c.userId === this.user.id);
  }

  // ---------------------------------------------------------- Subtitles

  get subtitle(): Subtitle | null {
    return this.media?.subtitles.find((s) => s.id === this.subtitleId) ?? null;
  }

  selectSubtitle(id: string | null) {
    this.subtitleId = id;
    this.reportCollab('seek');
  }

  // ------------------------------------------------------------- Collab

  startCollab() {
    if (!this.media) return;
    const id = randomId();
    this.collab = { id, controller: null, participants: [] };
    history.replaceState({ vid: this.media.id, collab: id }, '', this.urlFor({ vid: this.media.id, collab: id }));
    this.send({ joinCollab: { collabId: id, mediaFileId: this.media.id } });
    this.reportCollab('seek');
  }

  leaveCollab() {
    if (!this.collab) return;
    this.send({ leaveCollab: {} });
    this.collab = null;
    if (this.media) history.replaceState({ vid: this.media.id }, '', this.urlFor({ vid: this.media.id }));
  }

  collabLink(): string {
    if (!this.collab || !this.media) return '';
    return new URL(this.urlFor({ vid: this.media.id, collab: this.collab.id }), location.href).toString();
  }

  /** Mirrors the current player state to the collab session now. */
  reportCollabNow() {
    this.reportCollab('seek');
  }

  private reportCollab(_a: UserAction) {
    if (!this.collab || this.applyingRemote || !this.player.video) return;
    const p = this.player;
    const seek = p.video?.currentTime ?? p.time;
    const now = Date.now();
    this.sentReports = [...this.sentReports.filter((r) => now - r.at < 10_000).slice(-30), { paused: p.paused, loop: p.loopOn, seek, at: now }];
    const drawing = this.drawing.mode === 'edit' ? this.drawing.toDataURL(p.videoWidth, p.videoHeight)
      : this.drawing.mode === 'view' ? (this.drawing.image ?? undefined) : undefined;
    this.send({
      collabReport: {
        paused: p.paused,
        loop: p.loopOn,
        seekTimeSec: seek,
        drawing,
        subtitleId: this.subtitleId ?? undefined,
        loopStartSec: p.hasLoopRange ? p.loopIn! : undefined,
        loopEndSec: p.hasLoopRange ? p.loopOut! : undefined,
      },
    });
  }

  /** Is this event our own report coming back? (Not another tab of ours.) */
  private isEcho(ev: ServerToClientCmd_CollabEvent): boolean {
    if (!this.user || (ev.fromUser !== this.user.name && ev.fromUser !== this.user.id)) return false;
    const i = this.sentReports.findIndex((r) => r.paused === ev.paused && r.loop === ev.loop && Math.abs(r.seek - ev.seekTimeSec) < 1e-6);
    if (i < 0) return false;
    this.sentReports = this.sentReports.slice(i + 1);
    return true;
  }

  /** Keeps the participants list from the server's join/leave notices;
   * true if the text was one. */
  private trackCollabMembers(text: string): boolean {
    const m = text.match(/^'(.+)' (joined|left) collab$/);
    if (!m) return false;
    if (this.collab) {
      const who = m[1];
      const others = this.collab.participants.filter((p) => p !== who);
      this.collab.participants = m[2] === 'joined' ? [...others, who] : others;
    }
    return true;
  }

  private onCollabEvent(ev: ServerToClientCmd_CollabEvent) {
    if (!this.collab || this.isEcho(ev)) return;
    const c = this.collab;
    if (ev.fromUser && !c.participants.includes(ev.fromUser)) c.participants = [...c.participants, ev.fromUser];
    if (ev.fromUser && ev.fromUser !== c.controller) {
      c.controller = ev.fromUser;
      toasts.add('info', `${ev.fromUser} is controlling`);
    }
    this.applyingRemote = true;
    try {
      if ((ev.subtitleId ?? null) !== this.subtitleId) this.subtitleId = ev.subtitleId ?? null;
      this.player.applyRemote({
        paused: ev.paused, loop: ev.loop, seekTimeSec: ev.seekTimeSec, loopStartSec: ev.loopStartSec, loopEndSec: ev.loopEndSec,
      });
      if (ev.drawing && ev.paused) this.drawing.show(ev.drawing);
      else if (this.drawing.mode === 'view') this.drawing.stop();
    } finally {
      this.applyingRemote = false;
    }
  }
}

export function itemsToIDs(items: PageItem_FolderListing_Item[]): FolderItemID[] {
  return items.flatMap((it): FolderItemID[] => (it.mediaFile ? [{ mediaFileId: it.mediaFile.id }] : it.folder ? [{ folderId: it.folder.id }] : []));
}

function randomId(): string {
  const a = new Uint8Array(6);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 10);
}
