// A collaborative review session on the open media file: our playback,
// loop, drawing and subtitle choice are mirrored to everyone in it, and
// theirs to us. The session id is in the URL (&collab=), so the link is
// the invitation.
import type { ServerToClientCmd_CollabEvent } from '../../proto/client';
import type { Drawing } from '../drawing.svelte';
import type { PlayerController } from '../player.svelte';
import { toasts } from '../toasts.svelte';
import type { CompareStore } from './compare.svelte';
import type { Dispatcher, Send } from './dispatch';
import type { MediaStore } from './media.svelte';
import type { MessagesStore } from './messages.svelte';
import type { Router } from './router';
import type { SessionStore } from './session.svelte';

export interface CollabState {
  id: string;
  /** Who last controlled playback, and when. */
  controller: string | null;
  /** Users seen in this session (from their actions), and ourselves. */
  participants: string[];
}

interface SentReport {
  paused: boolean;
  loop: boolean;
  seek: number;
  at: number;
}

/** How long a report of ours is expected back as an echo. */
const ECHO_WINDOW_MS = 10_000;

export interface CollabDeps {
  dispatcher: Dispatcher;
  messages: MessagesStore;
  session: SessionStore;
  media: MediaStore;
  router: Router;
  player: PlayerController;
  drawing: Drawing;
  send: Send;
  /** The compare view, mirrored like playback (optional for tests). */
  compare?: CompareStore;
}

export class CollabStore {
  /** The session we are in, or null. */
  state = $state<CollabState | null>(null);

  /** Suppresses reports while applying a remote event. */
  private applyingRemote = false;
  /** Our recent reports: the server relays them back to us too. */
  private sentReports: SentReport[] = [];

  constructor(private d: CollabDeps) {
    d.player.onUserAction = () => this.report();
    d.drawing.onChange = () => this.report();
    d.media.onSubtitleChosen = () => this.report();
    d.dispatcher.on('collabEvent', (ev) => this.onEvent(ev));
    d.messages.claim((msg) => {
      if (!this.trackMembers(msg.message)) return false;
      if (!msg.seen) toasts.add('info', msg.message);
      return true;
    });
  }

  get id(): string | null {
    return this.state?.id ?? null;
  }

  /** Takes the session from the URL (null: none), leaving another one we were in. */
  follow(id: string | null) {
    if (this.state && this.state.id !== id) this.d.send({ leaveCollab: {} });
    this.state = id ? { id, controller: null, participants: [] } : null;
  }

  /** (Re)joins the session, if in one, once a media file is shown. */
  rejoin(mediaFileId: string) {
    if (this.state) this.d.send({ joinCollab: { collabId: this.state.id, mediaFileId } });
  }

  /** Leaves the session, if in one, as the view moves away from its file. */
  end() {
    if (this.state) this.d.send({ leaveCollab: {} });
    this.state = null;
  }

  start() {
    const mf = this.d.media.file;
    if (!mf) return;
    const id = randomId();
    this.state = { id, controller: null, participants: [] };
    this.d.router.replace({ vid: mf.id, collab: id });
    this.d.send({ joinCollab: { collabId: id, mediaFileId: mf.id } });
    this.report();
  }

  leave() {
    if (!this.state) return;
    this.d.send({ leaveCollab: {} });
    this.state = null;
    const mf = this.d.media.file;
    if (mf) this.d.router.replace({ vid: mf.id });
  }

  /** The link that invites others into the session. */
  link(): string {
    const mf = this.d.media.file;
    if (!this.state || !mf) return '';
    return this.d.router.link({ vid: mf.id, collab: this.state.id });
  }

  /** Mirrors the current player state to the session now. */
  report() {
    const { player: p, drawing: dr } = this.d;
    if (!this.state || this.applyingRemote || !p.video) return;
    const seek = p.video?.currentTime ?? p.time;
    const now = Date.now();
    this.sentReports = [...this.sentReports.filter((r) => now - r.at < ECHO_WINDOW_MS).slice(-30), { paused: p.paused, loop: p.loopOn, seek, at: now }];
    const drawing = dr.mode === 'edit' ? dr.toDataURL(p.videoWidth, p.videoHeight) : dr.mode === 'view' ? (dr.image ?? undefined) : undefined;
    this.d.send({
      collabReport: {
        paused: p.paused,
        loop: p.loopOn,
        seekTimeSec: seek,
        drawing,
        subtitleId: this.d.media.subtitleId ?? undefined,
        loopStartSec: p.hasLoopRange ? p.loopIn! : undefined,
        loopEndSec: p.hasLoopRange ? p.loopOut! : undefined,
        ...this.d.compare?.report(),
      },
    });
  }

  /** Is this event our own report coming back? (Not another tab of ours.) */
  private isEcho(ev: ServerToClientCmd_CollabEvent): boolean {
    if (!this.d.session.isMe(ev.fromUser)) return false;
    const i = this.sentReports.findIndex((r) => r.paused === ev.paused && r.loop === ev.loop && Math.abs(r.seek - ev.seekTimeSec) < 1e-6);
    if (i < 0) return false;
    this.sentReports = this.sentReports.slice(i + 1);
    return true;
  }

  /** Keeps the participants list from the server's join/leave notices;
   * true if the text was one. */
  private trackMembers(text: string): boolean {
    const m = text.match(/^'(.+)' (joined|left) collab$/);
    if (!m) return false;
    if (this.state) {
      const who = m[1];
      const others = this.state.participants.filter((p) => p !== who);
      this.state.participants = m[2] === 'joined' ? [...others, who] : others;
    }
    return true;
  }

  private onEvent(ev: ServerToClientCmd_CollabEvent) {
    if (!this.state || this.isEcho(ev)) return;
    const c = this.state;
    if (ev.fromUser && !c.participants.includes(ev.fromUser)) c.participants = [...c.participants, ev.fromUser];
    if (ev.fromUser && ev.fromUser !== c.controller) {
      c.controller = ev.fromUser;
      toasts.add('info', `${ev.fromUser} is controlling`);
    }
    const { player, drawing, media } = this.d;
    this.applyingRemote = true;
    try {
      if ((ev.subtitleId ?? null) !== media.subtitleId) media.subtitleId = ev.subtitleId ?? null;
      player.applyRemote({
        paused: ev.paused, loop: ev.loop, seekTimeSec: ev.seekTimeSec, loopStartSec: ev.loopStartSec, loopEndSec: ev.loopEndSec,
      });
      if (ev.drawing && ev.paused) drawing.show(ev.drawing);
      else if (drawing.mode === 'view') drawing.stop();
      this.d.compare?.apply(ev);
    } finally {
      this.applyingRemote = false;
    }
  }
}

function randomId(): string {
  const a = new Uint8Array(6);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 10);
}
