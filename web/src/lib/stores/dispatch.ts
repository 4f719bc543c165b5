// Routes each server message to the stores that handle it. A store
// registers for the commands whose state it owns, so a new store adds its
// own handlers and nothing else has to know about them.
import { commandName, type Command, type ServerMessage } from '../protocol';

export type MessageName = keyof ServerMessage;
export type Payload<K extends MessageName> = NonNullable<ServerMessage[K]>;

type AnyHandler = (payload: never, m: ServerMessage) => void;

export class Dispatcher {
  private handlers = new Map<MessageName, AnyHandler[]>();

  /** onError is told of a handler that threw; the other handlers still run. */
  constructor(private onError: (err: Error, m: ServerMessage) => void = () => {}) {}

  /** Calls fn with the payload of every `name` message, after the handlers
   * registered before it. Returns a function that unregisters it. */
  on<K extends MessageName>(name: K, fn: (payload: Payload<K>, m: ServerMessage) => void): () => void {
    const list = this.handlers.get(name) ?? [];
    list.push(fn as AnyHandler);
    this.handlers.set(name, list);
    return () => {
      const l = this.handlers.get(name);
      if (l) this.handlers.set(name, l.filter((h) => h !== fn));
    };
  }

  /** Hands a message to its handlers; false if none handles its command. */
  dispatch(m: ServerMessage): boolean {
    const name = commandName(m) as MessageName | '';
    const list = name ? this.handlers.get(name) : undefined;
    if (!name || !list?.length) return false;
    const payload = m[name] as never;
    for (const fn of [...list]) {
      try {
        fn(payload, m);
      } catch (e) {
        this.onError(e instanceof Error ? e : new Error(String(e)), m);
      }
    }
    return true;
  }
}

/** Sends a command to the server (queued while disconnected). */
export type Send = (cmd: Command) => void;
