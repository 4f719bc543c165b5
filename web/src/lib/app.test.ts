// @vitest-environment happy-dom
// Every server message reaches the store that owns its state, and only that one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { App } from './app';
import { allCookies } from './cookies';
import { testApp } from './stores/testing';
import { toasts } from './toasts.svelte';

/** Each store's state, as text, to see which ones a message changed. */
function snapshot(app: App): Record<string, string> {
  const s = JSON.stringify;
  return {
    session: s([app.session.user, app.session.isAdmin, app.session.serverVersion]),
    nav: s([app.nav.pageId, app.nav.pageTitle, app.nav.pageItems, app.nav.mediaId, app.nav.loaded]),
    media: s([app.media.file?.id, app.media.file?.title, app.media.subtitleId]),
    comments: s(app.comments.list.map((c) => [c.id, c.comment])),
    messages: s(app.messages.list.map((m) => m.message)),
    progress: s(app.progress.byMedia),
    collab: s(app.collab.state),
    organizer: s(Object.keys(app.organizer.actions)),
    cookies: s(allCookies()),
    toasts: s(toasts.list.map((t) => t.text)),
  };
}

function changed(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before).filter((k) => before[k] !== after[k]).sort();
}

const file = (id: string, extra: object = {}) => ({
  openMediaFile: { mediaFile: { id, title: `File ${id}`, mediaType: 'video', userId: 'alice', playbackUrl: `videos/${id}.mp4`, subtitles: [], duration: { duration: 10, totalFrames: '250', fps: '25' }, ...extra } },
});
const comment = (id: string, mediaFileId = 'm1') => ({ id, mediaFileId, userId: 'alice', usernameIfnull: 'Alice', comment: `c${id}`, timecode: '00:00:01:00' });

interface Case {
  name: string;
  url?: string;
  given?: object[];
  msg: object;
  /** The stores whose state the message changes. */
  want: string[];
  then?: (app: App) => void;
}

const cases: Case[] = [
  {
    name: 'welcome: the session',
    msg: { welcome: { user: { id: 'alice', name: 'Alice' }, isAdmin: true, serverVersion: '0.9.1' } },
    want: ['session'],
    then: (app) => expect(app.session.user).toEqual({ id: 'alice', name: 'Alice' }),
  },
  {
    name: 'showPage: the navigation (and the URL and title)',
    msg: { showPage: { pageItems: [{ html: '<p>hi</p>' }], pageId: 'f2', pageTitle: 'Folder 2' } },
    want: ['nav'],
    then: (app) => {
      expect([app.nav.view, location.search, document.title]).toEqual(['page', '?p=f2', 'Folder 2 – Test']);
    },
  },
  {
    name: 'defineActions: the organizer',
    msg: { defineActions: { actions: { popup_rename: { action: { lang: 'JAVASCRIPT', code: '' } } } } },
    want: ['organizer'],
  },
  {
    name: 'openMediaFile: the navigation and the media file',
    msg: file('m1'),
    want: ['media', 'nav'],
    then: (app) => {
      expect([app.nav.view, location.search, app.player.rate.fps]).toEqual(['media', '?vid=m1', 25]);
    },
  },
  {
    name: 'addComments: the comments of the open file',
    given: [file('m1')],
    msg: { addComments: { comments: [comment('1'), comment('2'), comment('3', 'other')] } },
    want: ['comments'],
    then: (app) => expect(app.comments.list.map((c) => c.id)).toEqual(['1', '2']),
  },
  {
    name: 'delComment: the comments',
    given: [file('m1'), { addComments: { comments: [comment('1'), comment('2')] } }],
    msg: { delComment: { commentId: '1' } },
    want: ['comments'],
    then: (app) => expect(app.comments.list.map((c) => c.id)).toEqual(['2']),
  },
  {
    name: 'a PROGRESS message: the progress, not the messages panel',
    msg: { showMessages: { msgs: [{ type: 'PROGRESS', message: 'Transcoding', progress: 0.25, refs: { mediaFileId: 'm9' } }] } },
    want: ['progress'],
    then: (app) => expect(app.progress.of('m9')).toMatchObject({ msg: 'Transcoding', progress: 0.25 }),
  },
  {
    name: 'an OK message: the messages panel and a toast',
    msg: { showMessages: { msgs: [{ id: '5', type: 'OK', message: 'Upload done' }] } },
    want: ['messages', 'toasts'],
  },
  {
    name: "a collab join notice: the collab session's participants, not the panel",
    url: '?vid=m1&collab=s1',
    given: [file('m1')],
    msg: { showMessages: { msgs: [{ type: 'OK', message: "'bob' joined collab" }] } },
    want: ['collab', 'toasts'],
    then: (app) => expect(app.collab.state?.participants).toEqual(['bob']),
  },
  {
    name: 'collabEvent: the collab session (who controls)',
    url: '?vid=m1&collab=s1',
    given: [file('m1')],
    msg: { collabEvent: { fromUser: 'bob', paused: true, loop: false, seekTimeSec: 2 } },
    want: ['collab', 'toasts'],
    then: (app) => expect(app.collab.state?.controller).toBe('bob'),
  },
  {
    name: 'setCookies: the stored cookies',
    msg: { setCookies: { cookies: { folder_path: '[1,2]' } } },
    want: ['cookies'],
    then: () => expect(allCookies().folder_path).toBe('[1,2]'),
  },
  {
    name: 'error: a toast',
    msg: { error: { msg: 'Permission denied' } },
    want: ['toasts'],
    then: () => expect(toasts.list.at(-1)?.text).toBe('Permission denied'),
  },
];

describe('server messages reach the store that owns them', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    toasts.list = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', ({ url, given = [], msg, want, then }) => {
    const { app, serverSays } = testApp(url);
    for (const g of given) serverSays(g);
    vi.advanceTimersToNextFrame();
    const before = snapshot(app);
    serverSays(msg);
    vi.advanceTimersToNextFrame();
    expect(changed(before, snapshot(app))).toEqual([...want].sort());
    then?.(app);
  });
});

describe('connecting', () => {
  it('reopens what the URL names, then asks for messages', () => {
    const { app, takeSent } = testApp('?vid=m1&collab=s1');
    app.onConnected();
    expect(takeSent()).toEqual([{ openMediaFile: { mediaFileId: 'm1' } }, { listMyMessages: {} }]);
    expect(app.collab.id).toBe('s1');
  });
  it('asks for the page in the URL when no media file is named', () => {
    const { app, takeSent } = testApp('?p=f7');
    app.onConnected();
    expect(takeSent()).toEqual([{ openNavigationPage: { pageId: 'f7' } }, { listMyMessages: {} }]);
  });
});
