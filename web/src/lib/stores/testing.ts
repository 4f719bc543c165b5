// Test support: a whole App on the test's (DOM) window, fed server messages
// as they come off the wire, with every command it sends recorded.
import { vi } from 'vitest';
import { App } from '../app';
import type { Command } from '../protocol';
import { decodeMessage } from '../protocol';
import { parseSettings } from '../settings';

export interface TestApp {
  app: App;
  /** Commands sent so far, oldest first. */
  sent: Command[];
  /** Feeds one server frame (wire JSON, as an object) to the app. */
  serverSays: (msg: object) => void;
  /** Names of the commands sent since the last call. */
  takeSent: () => Command[];
}

/** An App on the URL `search` (e.g. "?vid=m1"), with fresh storage. */
export function testApp(search = ''): TestApp {
  localStorage.clear();
  history.replaceState(null, '', '/review/' + search);
  const app = new App(parseSettings({ app_title: 'Test' }, location.href));
  const sent: Command[] = [];
  // The real connection encodes (and queues) each command; we keep a copy.
  const real = app.conn.send.bind(app.conn);
  vi.spyOn(app.conn, 'send').mockImplementation((cmd: Command) => {
    sent.push(cmd);
    real(cmd);
  });
  let taken = 0;
  return {
    app,
    sent,
    serverSays: (msg) => app.dispatcher.dispatch(decodeMessage(JSON.stringify(msg))),
    takeSent: () => sent.slice(taken, (taken = sent.length)),
  };
}
