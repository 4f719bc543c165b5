// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testApp } from './testing';

const page = (pageId: string | null, html: string) => ({ showPage: { pageItems: [{ html }], pageId: pageId ?? undefined, pageTitle: pageId ?? 'Home' } });
const file = (id: string) => ({ openMediaFile: { mediaFile: { id, title: id, mediaType: 'video', userId: 'u', playbackUrl: `v/${id}.mp4`, subtitles: [] } } });
const notice = (message: string) => ({ showMessages: { msgs: [{ type: 'OK', message }] } });
const shown = (app: ReturnType<typeof testApp>['app']) => app.nav.pageItems.map((p) => p.html).join();

describe('navigation', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a page arriving while an asked-for media file is on its way does not take the user back', () => {
    const { app, serverSays, takeSent } = testApp();
    serverSays(page(null, 'home'));
    app.nav.openMedia('m1');
    expect(takeSent()).toEqual([{ openMediaFile: { mediaFileId: 'm1' } }]);
    expect(app.nav.view).toBe('page');
    serverSays(page(null, 'home, refreshed'));
    expect(shown(app)).toBe('home');
    serverSays(file('m1'));
    expect([app.nav.view, app.media.file?.id, location.search]).toEqual(['media', 'm1', '?vid=m1']);
  });

  it('waits for an asked-for media file only so long', () => {
    const { app, serverSays } = testApp();
    serverSays(page(null, 'home'));
    app.nav.openMedia('m1');
    vi.advanceTimersByTime(10_001);
    serverSays(page(null, 'home, later'));
    expect(shown(app)).toBe('home, later');
  });

  it("drops a refresh's answer that arrives after the user went elsewhere", () => {
    const { app, serverSays, takeSent } = testApp('?p=a');
    serverSays(page('a', 'a1'));
    serverSays(notice('Upload done')); // a new notice refreshes the page
    vi.advanceTimersByTime(400);
    app.nav.openPage('b');
    expect(takeSent()).toEqual([{ openNavigationPage: { pageId: 'a' } }, { openNavigationPage: { pageId: 'b' } }]);
    serverSays(page('a', 'a2')); // the refresh's answer, late
    expect([app.nav.pageId, shown(app)]).toEqual(['a', 'a1']);
    serverSays(page('b', 'b1'));
    expect([app.nav.pageId, shown(app), location.search]).toEqual(['b', 'b1', '?p=b']);
    serverSays(page('a', 'a3')); // later pages for a are answers again
    expect(shown(app)).toBe('a3');
  });

  it('coalesces refreshes, and sends none while a new page is awaited', () => {
    const { app, serverSays, takeSent } = testApp();
    serverSays(page(null, 'home'));
    serverSays(notice('one'));
    serverSays(notice('two'));
    vi.advanceTimersByTime(400);
    expect(takeSent()).toEqual([{ openNavigationPage: {} }]);
    app.organizer.moveToFolder('f1', [{ mediaFileId: 'm1' }], {});
    app.nav.scheduleRefresh();
    vi.advanceTimersByTime(5_000);
    expect(takeSent()).toEqual([{ moveToFolder: { dstFolderId: 'f1', ids: [{ mediaFileId: 'm1' }], listingData: {} } }]);
  });

  it('no refresh of a page while a media file is open', () => {
    const { app, serverSays, takeSent } = testApp('?vid=m1');
    serverSays(file('m1'));
    takeSent();
    app.nav.scheduleRefresh();
    vi.advanceTimersByTime(1_000);
    expect(takeSent()).toEqual([]);
  });

  it('Back to a page leaves the media file, its comments and its session', () => {
    const { app, serverSays, takeSent } = testApp('?vid=m1&collab=s1');
    serverSays(file('m1'));
    serverSays({ addComments: { comments: [{ id: '1', mediaFileId: 'm1', comment: 'x' }] } });
    vi.advanceTimersToNextFrame();
    expect(app.comments.list).toHaveLength(1);
    takeSent();
    history.pushState(null, '', '?p=f1');
    app.nav.followUrl(app.router.current());
    expect(takeSent()).toEqual([{ leaveCollab: {} }, { openNavigationPage: { pageId: 'f1' } }]);
    expect([app.nav.view, app.media.file, app.comments.list, app.collab.state]).toEqual(['page', null, [], null]);
  });

  it('Forward to a media file asks for it, and rejoins its session when it comes', () => {
    const { app, serverSays, takeSent } = testApp();
    serverSays(page(null, 'home'));
    history.pushState(null, '', '?vid=m2&collab=s2');
    app.nav.followUrl(app.router.current());
    expect(takeSent()).toEqual([{ openMediaFile: { mediaFileId: 'm2' } }]);
    expect(app.nav.view).toBe('opening');
    serverSays(file('m2'));
    expect(takeSent()).toEqual([{ joinCollab: { collabId: 's2', mediaFileId: 'm2' } }]);
  });

  it('a change to the open media file asks for it again', () => {
    const { app, serverSays, takeSent } = testApp('?vid=m1');
    serverSays(file('m1'));
    takeSent();
    serverSays({ showMessages: { msgs: [{ type: 'MEDIA_FILE_UPDATED', message: '', refs: { mediaFileId: 'm1' } }] } });
    serverSays({ showMessages: { msgs: [{ type: 'MEDIA_FILE_UPDATED', message: '', refs: { mediaFileId: 'other' } }] } });
    vi.advanceTimersByTime(1_000);
    expect(takeSent()).toEqual([{ openMediaFile: { mediaFileId: 'm1' } }]);
    expect(app.messages.list).toEqual([]);
  });

  it('home leaves the collab session', () => {
    const { app, serverSays, takeSent } = testApp('?vid=m1&collab=s1');
    serverSays(file('m1'));
    takeSent();
    app.nav.goHome();
    expect(takeSent()).toEqual([{ leaveCollab: {} }, { openNavigationPage: {} }]);
    serverSays(page(null, 'home'));
    expect([app.nav.view, location.search, location.pathname]).toEqual(['page', '', '/review/']);
  });
  it('the Live page: grid, a player, Back, and Home; the websocket is not asked', () => {
    const { app, serverSays, takeSent } = testApp();
    serverSays(page(null, 'home'));
    takeSent();
    app.nav.openLive();
    expect([app.nav.view, app.nav.live, location.search, document.title]).toEqual(['live', '', '?live', 'Live – Test']);
    app.nav.openLive('cam1');
    expect([app.nav.view, app.nav.live, location.search]).toEqual(['live', 'cam1', '?live=cam1']);
    expect(takeSent()).toEqual([]);
    // Back to the grid, then to the home page.
    history.replaceState(null, '', '?live');
    app.nav.followUrl(app.router.current());
    expect([app.nav.view, app.nav.live]).toEqual(['live', '']);
    history.replaceState(null, '', '/review/');
    app.nav.followUrl(app.router.current());
    expect([app.nav.view, takeSent()]).toEqual(['page', [{ openNavigationPage: {} }]]);
    app.nav.openLive();
    app.nav.goHome();
    expect(app.nav.view).toBe('live'); // until the page comes
    serverSays(page(null, 'home again'));
    expect([app.nav.view, app.nav.live, shown(app), location.search]).toEqual(['page', null, 'home again', '']);
  });

  it('on the Live page, pages nobody asked for and refreshes do not take the user away', () => {
    const { app, serverSays, takeSent } = testApp('?live=cam1');
    expect([app.nav.view, app.nav.live]).toEqual(['live', 'cam1']);
    app.nav.reopen(); // a (re)connect: nothing to ask for
    expect([app.nav.loaded, takeSent()]).toEqual([true, []]);
    serverSays(notice('Upload done'));
    vi.advanceTimersByTime(1_000);
    expect(takeSent()).toEqual([]);
    serverSays(page(null, 'home'));
    expect([app.nav.view, location.search]).toEqual(['live', '?live=cam1']);
  });

  it('a media file opened from the Live page replaces it', () => {
    const { app, serverSays } = testApp('?live');
    app.nav.openMedia('m1');
    expect(app.nav.view).toBe('live');
    serverSays(file('m1'));
    expect([app.nav.view, app.nav.live, location.search]).toEqual(['media', null, '?vid=m1']);
  });
});
