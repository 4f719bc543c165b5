// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toasts } from '../toasts.svelte';
import { testApp } from './testing';

const file = (id: string) => ({
  openMediaFile: { mediaFile: { id, title: id, mediaType: 'video', userId: 'u', playbackUrl: `v/${id}.mp4`, subtitles: [{ id: 's1', mediaFileId: id, title: 'English', languageCode: 'en', origFilename: 'en.srt' }] } },
});
const event = (fromUser: string, seekTimeSec: number, extra: object = {}) => ({ collabEvent: { fromUser, paused: true, loop: false, seekTimeSec, ...extra } });

/** An app on the URL, as alice, showing m1 in a <video>. */
function onM1(search: string) {
  const t = testApp(search);
  t.serverSays({ welcome: { user: { id: 'alice', name: 'Alice' }, isAdmin: false, serverVersion: '1' } });
  t.serverSays(file('m1'));
  t.app.player.attach(document.createElement('video'));
  t.takeSent();
  return t;
}
const inSession = () => onM1('?vid=m1&collab=s1');

describe('CollabStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    toasts.list = [];
  });
  afterEach(() => vi.useRealTimers());

  it('start puts the session in the URL, joins it and reports where we are', () => {
    const { app, takeSent } = onM1('?vid=m1');
    app.collab.start();
    const id = app.collab.id!;
    expect(id).toMatch(/^[0-9a-z]{10}$/);
    expect(location.search).toBe(`?vid=m1&collab=${id}`);
    expect(app.collab.link()).toBe(`${location.origin}/review/?vid=m1&collab=${id}`);
    const sent = takeSent();
    expect(sent[0]).toEqual({ joinCollab: { collabId: id, mediaFileId: 'm1' } });
    expect(sent[1].collabReport).toMatchObject({ paused: true, loop: false, seekTimeSec: 0 });
    app.collab.leave();
    expect(takeSent()).toEqual([{ leaveCollab: {} }]);
    expect([location.search, app.collab.state, app.collab.link()]).toEqual(['?vid=m1', null, '']);
  });

  it('ignores our own report coming back, but not another tab of ours', () => {
    const { app, serverSays } = inSession();
    app.collab.report();
    serverSays(event('Alice', 0));
    expect(app.collab.state?.controller).toBeNull();
    expect(toasts.list).toEqual([]);
    serverSays(event('Alice', 0)); // no report of ours left to match: another tab
    expect(app.collab.state?.controller).toBe('Alice');
  });

  it("applies another user's playback and subtitles without echoing them", () => {
    const { app, serverSays, takeSent } = inSession();
    serverSays(event('bob', 3.5, { subtitleId: 's1' }));
    expect(app.collab.state).toMatchObject({ controller: 'bob', participants: ['bob'] });
    expect(toasts.list.map((t) => t.text)).toEqual(['bob is controlling']);
    expect(app.media.subtitleId).toBe('s1');
    expect(app.player.video?.currentTime).toBe(3.5);
    expect(takeSent().filter((c) => c.collabReport)).toEqual([]);
    // Our own choice afterwards is mirrored.
    app.media.selectSubtitle(null);
    expect(takeSent()[0].collabReport).toMatchObject({ subtitleId: undefined, seekTimeSec: 3.5 });
  });

  it("keeps the participants from the server's join and leave notices", () => {
    const { app, serverSays } = inSession();
    const notice = (message: string) => serverSays({ showMessages: { msgs: [{ type: 'OK', message }] } });
    notice("'bob' joined collab");
    notice("'carol' joined collab");
    notice("'bob' left collab");
    expect(app.collab.state?.participants).toEqual(['carol']);
    expect(app.messages.list).toEqual([]);
    notice("'bob' joined the party");
    expect(app.messages.list.map((m) => m.message)).toEqual(["'bob' joined the party"]);
  });

  it('reports nothing without a session', () => {
    const { app, serverSays, takeSent } = onM1('?vid=m1');
    app.collab.report();
    app.media.selectSubtitle('s1');
    serverSays(event('bob', 2));
    expect(takeSent()).toEqual([]);
    expect(app.player.video?.currentTime).toBe(0);
  });

  it('following another session from the URL leaves the old one', () => {
    const { app, takeSent } = inSession();
    app.collab.follow('s1');
    expect(takeSent()).toEqual([]);
    app.collab.follow('s2');
    expect(takeSent()).toEqual([{ leaveCollab: {} }]);
    expect(app.collab.id).toBe('s2');
  });
});
