// What the organizer plugin adds to the UI: named actions (menu entries
// and shortcuts that run its scripts), the scripts it runs, the API they
// call (window.clapshot, as in Clapshot), and its folder commands. Its
// scripts are trusted like its page HTML.
import {
  ScriptCall_Lang, UserMessage_Type,
  type ActionDef, type FolderItemID, type PageItem_FolderListing_Item, type ScriptCall, type UserMessage,
} from '../../proto/common';
import { toasts } from '../toasts.svelte';
import type { Dispatcher, Send } from './dispatch';
import type { MessagesStore } from './messages.svelte';
import type { NavigationStore } from './navigation.svelte';

type StringMap = Record<string, string>;

export interface OrganizerDeps {
  dispatcher: Dispatcher;
  messages: MessagesStore;
  nav: NavigationStore;
  send: Send;
}

export class OrganizerStore {
  /** The organizer's actions by name (defineActions adds to them). */
  actions = $state.raw<Record<string, ActionDef>>({});

  constructor(private d: OrganizerDeps) {
    d.dispatcher.on('defineActions', (da) => {
      this.actions = { ...this.actions, ...da.actions };
    });
    d.messages.handle(UserMessage_Type.MEDIA_FILE_ADDED, (m) => this.onMediaFileAdded(m));
  }

  /** Runs an organizer-provided script with its arguments (_action_args). */
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

  runAction(name: string, args: object) {
    const a = this.actions[name];
    if (!a?.action) {
      toasts.add('error', `Action "${name}" is not defined`);
      return;
    }
    this.runScript(a.action, args);
  }

  /** Opens a listing item: by the organizer's script if it gave one. */
  openItem(item: PageItem_FolderListing_Item, listingData: StringMap) {
    if (item.openAction) this.runScript(item.openAction, { item_to_open: item, listing_data: listingData });
    else if (item.mediaFile) this.d.nav.openMedia(item.mediaFile.id);
  }

  moveToFolder(dstFolderId: string, ids: FolderItemID[], listingData: StringMap) {
    this.d.nav.expectPage();
    this.d.send({ moveToFolder: { dstFolderId, ids, listingData } });
  }

  reorderItems(ids: FolderItemID[], listingData: StringMap) {
    this.d.nav.expectPage();
    this.d.send({ reorderItems: { ids, listingData } });
  }

  /** The API organizer scripts call (window.clapshot), as in Clapshot. */
  scriptApi() {
    const { nav, send } = this.d;
    return {
      openMediaFile: (mediaFileId: string) => nav.openMedia(mediaFileId),
      renameMediaFile: (mediaFileId: string, newName: string) => send({ renameMediaFile: { mediaFileId, newName } }),
      delMediaFile: (mediaFileId: string) => send({ delMediaFile: { mediaFileId } }),
      callOrganizer: (cmd: string, args: unknown) => {
        nav.expectPage();
        send({ organizerCmd: { cmd, args: JSON.stringify(args) } });
      },
      itemsToIDs: (items: PageItem_FolderListing_Item[]): FolderItemID[] => itemsToIDs(items),
      moveToFolder: (dstFolderId: string, ids: FolderItemID[], listingData: StringMap) => this.moveToFolder(dstFolderId, ids, listingData),
      reorderItems: (ids: FolderItemID[], listingData: StringMap) => this.reorderItems(ids, listingData),
    };
  }

  /** An upload finished: run the action its listing named for new files
   * (e.g. move it into the folder it was dropped on), else refresh. */
  private onMediaFileAdded(msg: UserMessage) {
    const cookies = parseJSONObject(msg.details);
    const actionName = cookies.media_file_added_action;
    if (!actionName) {
      this.d.nav.scheduleRefresh();
      return;
    }
    const action = this.actions[actionName];
    if (!action?.action) {
      toasts.add('error', `The organizer's action "${actionName}" for new uploads is not defined`);
      this.d.nav.scheduleRefresh();
      return;
    }
    const listingData = parseJSONObject(cookies.listing_data_json);
    this.runScript(action.action, { media_file_id: msg.refs?.mediaFileId, listing_data: listingData });
  }
}

/** The listing items as the ids organizer commands take. */
export function itemsToIDs(items: PageItem_FolderListing_Item[]): FolderItemID[] {
  return items.flatMap((it): FolderItemID[] => (it.mediaFile ? [{ mediaFileId: it.mediaFile.id }] : it.folder ? [{ folderId: it.folder.id }] : []));
}

/** JSON text as a string map; {} if empty or unreadable. */
function parseJSONObject(text: string | undefined): StringMap {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}
