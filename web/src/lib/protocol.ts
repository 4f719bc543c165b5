// The websocket wire format: each text frame is one JSON object. Client to
// server: a ClientToServerCmd in proto3 JSON (lowerCamelCase, exactly one
// command key) plus a top-level "cookies" map. Server to client: a
// ServerToClientCmd in proto3 JSON.
import { ClientToServerCmd, ServerToClientCmd } from '../proto/client';

export type Command = ClientToServerCmd;
export type ServerMessage = ServerToClientCmd;

/** The name of the (single) command in a message: "addComment", ... */
export function commandName(cmd: object): string {
  for (const [k, v] of Object.entries(cmd)) if (v !== undefined && v !== null && k !== 'cookies') return k;
  return '';
}

/** Encodes a command as Clapshot's client does: JSON.stringify of the
 * command object plus "cookies". undefined fields are left out. */
export function encodeCommand(cmd: Command, cookies: Record<string, string>): string {
  if (!commandName(cmd)) throw new Error('empty command');
  return JSON.stringify({ ...cmd, cookies });
}

/** Decodes a server frame; throws with the reason if it is not one. */
export function decodeMessage(data: unknown): ServerMessage {
  if (typeof data !== 'string') throw new Error('binary frame (the protocol is JSON text)');
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not a JSON object');
  const msg = ServerToClientCmd.fromJSON(obj);
  if (!commandName(msg)) throw new Error(`unknown command ${Object.keys(obj).join(', ') || '(none)'}`);
  return msg;
}
