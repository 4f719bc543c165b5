// The stores as Svelte contexts: App.svelte provides them once, and each
// component takes only the ones it uses (getComments(), getMedia(), ...).
import { createContext } from 'svelte';
import type { App } from '../app';
import type { Connection } from '../connection.svelte';
import type { Drawing } from '../drawing.svelte';
import type { PlayerController } from '../player.svelte';
import type { Settings } from '../settings';
import type { Uploads } from '../upload.svelte';
import type { CollabStore } from './collab.svelte';
import type { CommentsStore } from './comments.svelte';
import type { CompareStore } from './compare.svelte';
import type { LiveStore } from './live.svelte';
import type { MediaStore } from './media.svelte';
import type { MessagesStore } from './messages.svelte';
import type { NavigationStore } from './navigation.svelte';
import type { OrganizerStore } from './organizer.svelte';
import type { ProgressStore } from './progress.svelte';
import type { Router } from './router';
import type { SessionStore } from './session.svelte';
import type { VersionsStore } from './versions.svelte';

export const [getSettings, setSettings] = createContext<Settings>();
export const [getConnection, setConnection] = createContext<Connection>();
export const [getRouter, setRouter] = createContext<Router>();
export const [getSession, setSession] = createContext<SessionStore>();
export const [getMessages, setMessages] = createContext<MessagesStore>();
export const [getProgress, setProgress] = createContext<ProgressStore>();
export const [getNavigation, setNavigation] = createContext<NavigationStore>();
export const [getMedia, setMedia] = createContext<MediaStore>();
export const [getComments, setComments] = createContext<CommentsStore>();
export const [getCollab, setCollab] = createContext<CollabStore>();
export const [getOrganizer, setOrganizer] = createContext<OrganizerStore>();
export const [getLive, setLive] = createContext<LiveStore>();
export const [getUploads, setUploads] = createContext<Uploads>();
export const [getPlayer, setPlayer] = createContext<PlayerController>();
export const [getDrawing, setDrawing] = createContext<Drawing>();
export const [getVersions, setVersions] = createContext<VersionsStore>();
export const [getCompare, setCompare] = createContext<CompareStore>();

/** Makes every store available to the components below the caller. */
export function provideStores(app: App) {
  setSettings(app.settings);
  setConnection(app.conn);
  setRouter(app.router);
  setSession(app.session);
  setMessages(app.messages);
  setProgress(app.progress);
  setNavigation(app.nav);
  setMedia(app.media);
  setComments(app.comments);
  setCollab(app.collab);
  setOrganizer(app.organizer);
  setLive(app.live);
  setUploads(app.uploads);
  setPlayer(app.player);
  setDrawing(app.drawing);
  setVersions(app.versions);
  setCompare(app.compare);
}
