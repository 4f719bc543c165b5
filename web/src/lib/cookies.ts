// Clapshot's "cookies": key/value pairs with an expiry, kept in
// localStorage under "clapshot_state" (the same key and format as
// Clapshot's client, so both clients share them) and sent with every
// websocket command. The server sets them with setCookies (e.g. the
// organizer's folder_path); the client keeps audio_volume there.

const KEY = 'clapshot_state';
const DEFAULT_TTL_MS = 12 * 3600 * 1000;

interface Stored {
  value: string;
  expiration: number;
}

function read(): Record<string, Stored> {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function write(all: Record<string, Stored>) {
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // Storage full or disabled: cookies then last for this page only.
  }
}

/** Sets a cookie; an empty value deletes it (as setCookies specifies). */
export function setCookie(key: string, value: string, expiresAt?: number | null) {
  if (!key) return;
  const all = read();
  if (value === '') delete all[key];
  else all[key] = { value, expiration: expiresAt ?? Date.now() + DEFAULT_TTL_MS };
  write(all);
}

export function getCookie(key: string): string | null {
  const c = read()[key];
  return c && c.expiration > Date.now() ? c.value : null;
}

/** All unexpired cookies; expired ones are dropped from storage. */
export function allCookies(): Record<string, string> {
  const all = read();
  const now = Date.now();
  const out: Record<string, string> = {};
  let changed = false;
  for (const [k, c] of Object.entries(all)) {
    if (c && typeof c.value === 'string' && c.expiration > now) out[k] = c.value;
    else {
      delete all[k];
      changed = true;
    }
  }
  if (changed) write(all);
  return out;
}
