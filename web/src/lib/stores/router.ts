// The app's URL: which media file (?vid=), collab session (&collab=),
// organizer page (?p=) or live camera page (?live, ?live=<stream id>) is
// shown, so links, reloads and the back button work. URLs are relative to
// the page, so any path prefix is kept.
//
// A new kind of view adds its parameter to Route and to parseRoute/urlFor
// here, and nowhere else parses the URL.

/** A place in the app, as in its URL. */
export interface Route {
  vid?: string | null;
  collab?: string | null;
  p?: string | null;
  /** The Live page: "" for the grid of cameras, a stream id for its player. */
  live?: string | null;
}

/** Reads a URL's query. A collab session needs a media file; a page is
 * kept alongside a media file (it is where Back leads); a media file wins
 * over the Live page. */
export function parseRoute(search: string): { vid: string | null; collab: string | null; p: string | null; live: string | null } {
  const q = new URLSearchParams(search);
  const vid = q.get('vid');
  const collab = q.get('collab');
  return { vid, collab: collab && vid ? collab : null, p: q.get('p'), live: vid ? null : q.get('live') };
}

/** The app's own URL for a route; a page id is left out when a media file
 * or the Live page is shown, and the bare path stands for the home page. */
export function urlFor(route: Route, pathname: string): string {
  const live = !route.vid && route.live != null;
  const q = new URLSearchParams();
  if (route.vid) q.set('vid', route.vid);
  if (route.vid && route.collab) q.set('collab', route.collab);
  if (live && route.live) q.set('live', route.live);
  if (!route.vid && !live && route.p) q.set('p', route.p);
  const s = q.toString();
  if (live && !route.live) return '?live';
  return s ? `?${s}` : pathname;
}

/** The parts of window the router uses. */
export type RouterWindow = Pick<Window, 'location' | 'history' | 'addEventListener' | 'removeEventListener'>;

/** The browser's location and history, read and written as Routes. */
export class Router {
  constructor(private win: RouterWindow = window) {}

  /** Where the browser is now. */
  current() {
    return parseRoute(this.win.location.search);
  }

  urlFor(route: Route): string {
    return urlFor(route, this.win.location.pathname);
  }

  /** An absolute link to a route, to share. */
  link(route: Route): string {
    return new URL(this.urlFor(route), this.win.location.href).toString();
  }

  /** The route saved with the current history entry (null on a fresh load). */
  get saved(): Route | null {
    return (this.win.history.state as Route | null) ?? null;
  }

  /** A new history entry. */
  push(route: Route) {
    this.win.history.pushState(route, '', this.urlFor(route));
  }

  /** Changes the current history entry (e.g. joining a session). */
  replace(route: Route) {
    this.win.history.replaceState(route, '', this.urlFor(route));
  }

  /** Calls fn with the route the user went Back or Forward to. */
  listen(fn: (route: ReturnType<typeof parseRoute>) => void): () => void {
    const h = () => fn(this.current());
    this.win.addEventListener('popstate', h);
    return () => this.win.removeEventListener('popstate', h);
  }
}
