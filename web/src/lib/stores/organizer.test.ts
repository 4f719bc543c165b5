// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ScriptCall_Lang, type PageItem_FolderListing_Item } from '../../proto/common';
import { toasts } from '../toasts.svelte';
import { itemsToIDs } from './organizer.svelte';
import { testApp } from './testing';

type Ran = { __ran?: unknown[] };
const ran = () => (globalThis as Ran).__ran ?? [];
// As on the wire (decoded by the app) and as decoded (for direct calls).
const js = (code: string) => ({ lang: 'JAVASCRIPT', code });
const decoded = (code: string) => ({ lang: ScriptCall_Lang.JAVASCRIPT, code });
const recordCode = 'globalThis.__ran = [...(globalThis.__ran ?? []), _action_args];';
const record = js(recordCode);
const added = (details: object | string) => ({
  showMessages: { msgs: [{ type: 'MEDIA_FILE_ADDED', message: '', refs: { mediaFileId: 'new1' }, details: typeof details === 'string' ? details : JSON.stringify(details) }] },
});

describe('OrganizerStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    toasts.list = [];
    delete (globalThis as Ran).__ran;
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('runs the action a new upload names, with its file and listing data', () => {
    const { app, serverSays, takeSent } = testApp();
    serverSays({ defineActions: { actions: { on_added: { action: record } } } });
    serverSays({ defineActions: { actions: { other: { action: js('') } } } });
    expect(Object.keys(app.organizer.actions).sort()).toEqual(['on_added', 'other']);
    serverSays(added({ media_file_added_action: 'on_added', listing_data_json: '{"folder_id":"3"}' }));
    expect(ran()).toEqual([{ media_file_id: 'new1', listing_data: { folder_id: '3' } }]);
    expect(app.messages.list).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(takeSent()).toEqual([]);
  });

  it('refreshes the page for an upload without an action, and says when the action is missing', () => {
    const { serverSays, takeSent } = testApp();
    serverSays({ showPage: { pageItems: [], pageId: 'f1' } });
    serverSays(added('not json'));
    vi.advanceTimersByTime(400);
    expect(takeSent()).toEqual([{ openNavigationPage: { pageId: 'f1' } }]);
    serverSays(added({ media_file_added_action: 'nope' }));
    vi.advanceTimersByTime(400);
    expect(takeSent()).toEqual([{ openNavigationPage: { pageId: 'f1' } }]);
    expect(toasts.list.map((t) => t.text)).toEqual([`The organizer's action "nope" for new uploads is not defined`]);
    expect(ran()).toEqual([]);
  });

  it('runs named actions, and reports undefined ones, other languages and failing scripts', () => {
    const { app, serverSays } = testApp();
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    serverSays({ defineActions: { actions: { rec: { action: record }, bad: { action: js('throw new Error("nope")') } } } });
    app.organizer.runAction('rec', { selected_items: [] });
    app.organizer.runAction('missing', {});
    app.organizer.runAction('bad', {});
    app.organizer.runScript({ lang: ScriptCall_Lang.UNRECOGNIZED, code: 'x' }, {});
    app.organizer.runScript(decoded(''), {});
    expect(ran()).toEqual([{ selected_items: [] }]);
    expect(logged).toHaveBeenCalledOnce();
    expect(toasts.list.map((t) => t.text)).toEqual([
      'Action "missing" is not defined',
      'Organizer script error: nope',
      'The organizer sent a script in an unsupported language',
    ]);
  });

  it('opens an item by its script, else the media file', () => {
    const { app, takeSent } = testApp();
    const withScript = { openAction: decoded(recordCode), folder: { id: '5' } } as unknown as PageItem_FolderListing_Item;
    const media = { mediaFile: { id: 'm1' } } as unknown as PageItem_FolderListing_Item;
    app.organizer.openItem(withScript, { folder_id: '1' });
    app.organizer.openItem(media, {});
    expect(ran()).toEqual([{ item_to_open: withScript, listing_data: { folder_id: '1' } }]);
    expect(takeSent()).toEqual([{ openMediaFile: { mediaFileId: 'm1' } }]);
  });

  it('gives scripts the window.clapshot API', () => {
    const { app, takeSent } = testApp();
    const api = app.organizer.scriptApi();
    const items = [{ mediaFile: { id: 'm1' } }, { folder: { id: '4' } }, {}] as unknown as PageItem_FolderListing_Item[];
    api.callOrganizer('new_folder', { name: 'X' });
    api.moveToFolder('4', api.itemsToIDs(items), { folder_id: '1' });
    api.renameMediaFile('m1', 'Cut 2');
    api.delMediaFile('m1');
    expect(takeSent()).toEqual([
      { organizerCmd: { cmd: 'new_folder', args: '{"name":"X"}' } },
      { moveToFolder: { dstFolderId: '4', ids: [{ mediaFileId: 'm1' }, { folderId: '4' }], listingData: { folder_id: '1' } } },
      { renameMediaFile: { mediaFileId: 'm1', newName: 'Cut 2' } },
      { delMediaFile: { mediaFileId: 'm1' } },
    ]);
    expect(itemsToIDs([])).toEqual([]);
  });
});
