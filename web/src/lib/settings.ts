// Runtime settings. clapshot-server injects them into index.html for each
// request (<script type="application/json" id="clapshot-settings">), so one
// build works behind any host name or path. The keys are those of Clapshot's
// clapshot_client.conf.json, plus a few of ours.

export interface UserMenuItem {
  label: string;
  type: 'url' | 'divider';
  data?: string;
}

export interface Settings {
  /** Absolute ws:// or wss:// URL of the websocket API. */
  wsUrl: string;
  /** http(s) URL of /api/health, derived from wsUrl as Clapshot's client does. */
  healthUrl: string;
  /** http(s) URL of the server's /api/ (ends with "/"), beside the websocket. */
  apiUrl: string;
  /** Multipart upload endpoint (field "fileupload"). */
  uploadUrl: string;
  /** tus resumable-upload endpoint, or "" if the server has none. */
  tusUrl: string;
  appTitle: string;
  logoUrl: string;
  userMenuItems: UserMenuItem[];
  showBasicAuthLogout: boolean;
  logoutUrl: string;
  /** Largest accepted upload in bytes; 0 = no limit announced. */
  maxUploadBytes: number;
  serverVersion: string;
  /** The owners' share link API (/api/shares), "" if the server has none. */
  sharesUrl: string;
  /** True on a share link's page (/s/<token>/): the app is a guest's. */
  guest: boolean;
  /** The live-camera API (ends in "/"), or "" if the server has no cameras. */
  liveUrl: string;
}

interface RawSettings {
  ws_url?: string;
  upload_url?: string;
  tus_url?: string;
  app_title?: string;
  logo_url?: string;
  user_menu_extra_items?: UserMenuItem[];
  user_menu_show_basic_auth_logout?: boolean;
  logout_url?: string;
  max_upload_bytes?: number;
  server_version?: string;
  shares_url?: string;
  guest?: boolean;
  live_url?: string;
}

/** Resolves a possibly relative URL against the page, keeping ws: schemes. */
export function resolveUrl(u: string, base: string): string {
  return new URL(u, base).toString();
}

/** ws(s)://host/prefix/api/ws -> http(s)://host/prefix/api/health */
export function healthUrlFor(wsUrl: string): string {
  return wsUrl.replace(/^wss:/, 'https:').replace(/^ws:/, 'http:').replace(/\/api\/.*$/, '/api/health');
}

/** Turns the raw JSON into Settings, resolving relative URLs against base. */
export function parseSettings(raw: RawSettings, base: string): Settings {
  const http = (u: string) => resolveUrl(u, base);
  let ws = http(raw.ws_url || 'api/ws');
  ws = ws.replace(/^http:/, 'ws:').replace(/^https:/, 'wss:');
  const items = Array.isArray(raw.user_menu_extra_items) ? raw.user_menu_extra_items : [];
  return {
    wsUrl: ws,
    healthUrl: healthUrlFor(ws),
    apiUrl: healthUrlFor(ws).replace(/health$/, ''),
    uploadUrl: http(raw.upload_url || 'api/upload'),
    tusUrl: raw.tus_url === '' ? '' : http(raw.tus_url || 'api/upload/tus/'),
    appTitle: raw.app_title || 'Clapshot',
    logoUrl: raw.logo_url ? http(raw.logo_url) : '',
    userMenuItems: items.filter((i) => i && typeof i.label === 'string' && (i.type === 'url' || i.type === 'divider')),
    showBasicAuthLogout: !!raw.user_menu_show_basic_auth_logout,
    logoutUrl: raw.logout_url ? http(raw.logout_url) : '',
    maxUploadBytes: Number(raw.max_upload_bytes) > 0 ? Number(raw.max_upload_bytes) : 0,
    serverVersion: raw.server_version || '',
    sharesUrl: raw.shares_url ? http(raw.shares_url) : '',
    guest: raw.guest === true,
    liveUrl: raw.live_url ? http(raw.live_url.endsWith('/') ? raw.live_url : raw.live_url + '/') : '',
  };
}

/** Reads the injected settings; under `vite dev` falls back to the server's conf file. */
export async function loadSettings(): Promise<Settings> {
  const el = document.getElementById('clapshot-settings');
  let raw: RawSettings = {};
  try {
    raw = JSON.parse(el?.textContent || '{}');
  } catch {
    raw = {};
  }
  if (!raw.ws_url && !raw.upload_url) {
    try {
      const r = await fetch('clapshot_client.conf.json', { cache: 'no-store' });
      if (r.ok) raw = await r.json();
    } catch {
      // Defaults below are same-origin relative paths, which is right for most setups.
    }
  }
  return parseSettings(raw, document.baseURI);
}
