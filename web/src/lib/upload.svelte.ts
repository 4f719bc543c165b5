// Uploads: resumable (tus 1.0 core + creation + termination) when the
// server offers it, otherwise Clapshot's single multipart POST. Each file
// gets a row with progress, speed and time left; failures retry with
// backoff; an interrupted tus upload resumes where it stopped, even after
// a page reload.
import { allCookies } from './cookies';
import type { Settings } from './settings';

export type UploadState = 'queued' | 'uploading' | 'retrying' | 'done' | 'failed' | 'cancelled' | 'rejected';

export interface UploadItem {
  id: number;
  name: string;
  size: number;
  state: UploadState;
  loaded: number;
  /** Bytes per second (smoothed). */
  speed: number;
  /** Seconds left, or -1 if unknown. */
  eta: number;
  error: string;
  /** Retry attempt number (0 = first try). */
  attempt: number;
  /** Seconds until the next retry, while retrying. */
  retryIn: number;
}

export interface UploadTarget {
  uploadUrl: string;
  tusUrl: string;
  maxBytes: number;
  listingData: Record<string, string>;
  mediaFileAddedAction?: string;
  /** The upload is a new version of this media file (our extension): it
   * joins that file's stack instead of the listing. */
  versionOf?: string;
}

/** The header that makes an upload a new version (server: X-Clapshot-Version-Of). */
export const VERSION_OF_HEADER = 'X-Clapshot-Version-Of';

/** Where a new version of mediaFileId is uploaded: the server's upload
 * endpoints, with no listing (the stack, not a folder, gets it). */
export function versionTarget(s: Pick<Settings, 'uploadUrl' | 'tusUrl' | 'maxUploadBytes'>, mediaFileId: string): UploadTarget {
  return { uploadUrl: s.uploadUrl, tusUrl: s.tusUrl, maxBytes: s.maxUploadBytes, listingData: {}, versionOf: mediaFileId };
}

interface Job {
  item: UploadItem;
  file: File;
  target: UploadTarget;
  xhr: XMLHttpRequest | null;
  tusLocation: string | null;
  cancelled: boolean;
  lastTick: number;
  lastLoaded: number;
}

const CHUNK = 16 * 1024 * 1024;
/** A proxy's body limit (HTTP 413) halves the chunk, down to this. */
const MIN_CHUNK = 64 * 1024;
const RETRY_DELAYS = [1, 3, 6, 12, 20, 30];
const PARALLEL = 2;
const TUS_VERSION = '1.0.0';

/** An HTTP failure that retrying will not fix (4xx). */
class Permanent extends Error {}

/** JSON with every non-ASCII character escaped: header values must be Latin-1. */
export function asciiJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** tus Upload-Metadata: comma-separated "key base64(value)". */
export function tusMetadata(m: Record<string, string>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${btoa(String.fromCharCode(...new TextEncoder().encode(v)))}`)
    .join(',');
}

/** "1.5 MB", "820 kB". */
export function formatBytes(n: number): string {
  if (!isFinite(n) || n < 0) return '?';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${u[i]}`;
}

export function formatEta(s: number): string {
  if (s < 0 || !isFinite(s)) return '';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export class Uploads {
  items = $state<UploadItem[]>([]);
  private jobs = new Map<number, Job>();
  private nextId = 1;
  /** Set when the server answered that it has no tus endpoint. */
  private tusMissing = false;
  /** tus request size: halved at each 413 (a proxy's body limit, such as
   * nginx's client_max_body_size), and kept for the uploads that follow. */
  private chunk = CHUNK;

  get active() {
    return this.items.some((i) => i.state === 'queued' || i.state === 'uploading' || i.state === 'retrying');
  }

  add(files: Iterable<File>, target: UploadTarget) {
    for (const file of files) {
      const item: UploadItem = {
        id: this.nextId++, name: file.name, size: file.size, state: 'queued', loaded: 0, speed: 0, eta: -1, error: '', attempt: 0, retryIn: 0,
      };
      this.items.push(item);
      const it = this.items[this.items.length - 1]; // the reactive proxy
      this.jobs.set(item.id, { item: it, file, target, xhr: null, tusLocation: null, cancelled: false, lastTick: 0, lastLoaded: 0 });
      if (target.maxBytes > 0 && file.size > target.maxBytes) {
        it.state = 'failed';
        it.error = `Too large: ${formatBytes(file.size)}, the server accepts at most ${formatBytes(target.maxBytes)}`;
      } else if (file.size === 0) {
        it.state = 'failed';
        it.error = 'The file is empty';
      }
    }
    this.pump();
  }

  cancel(id: number) {
    const job = this.jobs.get(id);
    if (!job || job.item.state === 'done') return;
    job.cancelled = true;
    job.xhr?.abort();
    job.item.state = 'cancelled';
    if (job.tusLocation) {
      // Termination: let the server drop the partial upload (best effort).
      fetch(job.tusLocation, { method: 'DELETE', headers: { 'Tus-Resumable': TUS_VERSION } }).catch(() => {});
      forgetResume(job);
    }
    this.pump();
  }

  retry(id: number) {
    const job = this.jobs.get(id);
    if (!job || (job.item.state !== 'failed' && job.item.state !== 'cancelled')) return;
    job.cancelled = false;
    Object.assign(job.item, { state: 'queued', error: '', attempt: 0 });
    this.pump();
  }

  /** The server's processing refused an uploaded file (its error message
   * names the file): shown on that file's row. True if a row matched. */
  noteRejected(text: string): boolean {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const it = this.items[i];
      if (it.state === 'done' && (text.includes(`'${it.name}'`) || text.includes(`"${it.name}"`))) {
        it.state = 'rejected';
        it.error = text;
        return true;
      }
    }
    return false;
  }

  clearFinished() {
    this.items = this.items.filter((i) => {
      const keep = i.state === 'queued' || i.state === 'uploading' || i.state === 'retrying';
      if (!keep) this.jobs.delete(i.id);
      return keep;
    });
  }

  private pump() {
    const running = this.items.filter((i) => i.state === 'uploading' || i.state === 'retrying').length;
    let free = PARALLEL - running;
    for (const it of this.items) {
      if (free <= 0) break;
      if (it.state !== 'queued') continue;
      const job = this.jobs.get(it.id);
      if (!job) continue;
      free--;
      void this.run(job);
    }
  }

  private async run(job: Job) {
    const it = job.item;
    it.state = 'uploading';
    while (!job.cancelled) {
      try {
        if (job.target.tusUrl && !this.tusMissing) await this.tusUpload(job);
        else await this.multipartUpload(job);
        it.state = 'done';
        it.loaded = it.size;
        it.eta = 0;
        break;
      } catch (e) {
        if (job.cancelled) break;
        const err = e as Error;
        if (err instanceof Permanent || it.attempt >= RETRY_DELAYS.length) {
          it.state = 'failed';
          it.error = err.message;
          break;
        }
        const delay = RETRY_DELAYS[it.attempt++];
        it.state = 'retrying';
        it.error = err.message;
        for (let s = delay; s > 0 && !job.cancelled; s--) {
          it.retryIn = s;
          await sleep(1000);
        }
        if (job.cancelled) break;
        it.state = 'uploading';
        it.error = '';
      }
    }
    this.pump();
  }

  private progress(job: Job, loaded: number) {
    const it = job.item;
    const now = performance.now();
    it.loaded = loaded;
    if (job.lastTick === 0) {
      job.lastTick = now;
      job.lastLoaded = loaded;
      return;
    }
    const dt = (now - job.lastTick) / 1000;
    if (dt < 0.25) return;
    const inst = (loaded - job.lastLoaded) / dt;
    it.speed = it.speed > 0 ? it.speed * 0.7 + inst * 0.3 : inst;
    it.eta = it.speed > 0 ? (it.size - loaded) / it.speed : -1;
    job.lastTick = now;
    job.lastLoaded = loaded;
  }

  /** Upload cookies, as Clapshot's client sends them: the server hands them
   * back in MEDIA_FILE_ADDED, so the organizer's action can file the upload. */
  private cookies(job: Job): string {
    const c: Record<string, string> = { ...allCookies(), listing_data_json: JSON.stringify(job.target.listingData) };
    // A new version is not filed by the organizer: it joins its stack.
    if (job.target.mediaFileAddedAction && !job.target.versionOf) c.media_file_added_action = job.target.mediaFileAddedAction;
    return asciiJSON(c);
  }

  /** Headers every upload request of job carries. */
  private uploadHeaders(job: Job): Record<string, string> {
    const h: Record<string, string> = { 'X-Clapshot-Cookies': this.cookies(job) };
    if (job.target.versionOf) h[VERSION_OF_HEADER] = job.target.versionOf;
    return h;
  }

  private xhr(job: Job, method: string, url: string, headers: Record<string, string>, body: XMLHttpRequestBodyInit | null, base = 0): Promise<XMLHttpRequest> {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      job.xhr = x;
      x.open(method, url);
      for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
      x.upload.onprogress = (e) => this.progress(job, base + e.loaded);
      x.onload = () => resolve(x);
      x.onerror = () => reject(new Error('Network error (connection lost?)'));
      x.onabort = () => reject(new Error('Cancelled'));
      x.ontimeout = () => reject(new Error('Timed out'));
      x.send(body);
    });
  }

  private async multipartUpload(job: Job) {
    const form = new FormData();
    form.append('fileupload', job.file, job.file.name);
    const headers = this.uploadHeaders(job);
    if (/^[\x20-\x7e]*$/.test(job.file.name)) headers['X-File-Name'] = job.file.name;
    job.lastTick = 0;
    const x = await this.xhr(job, 'POST', job.target.uploadUrl, headers, form);
    if (x.status >= 200 && x.status < 300) return;
    throw httpError(x, 'Upload');
  }

  private async tusUpload(job: Job) {
    const file = job.file;
    const base = { 'Tus-Resumable': TUS_VERSION };
    let offset = -1;
    const saved = job.tusLocation ?? recallResume(job);
    if (saved) {
      // Resume: ask the server how much it has.
      try {
        const r = await fetch(saved, { method: 'HEAD', headers: base, cache: 'no-store' });
        const off = Number(r.headers.get('Upload-Offset'));
        if (r.ok && isFinite(off) && off >= 0) {
          job.tusLocation = saved;
          offset = off;
        } else {
          forgetResume(job);
        }
      } catch (e) {
        throw new Error(`Cannot reach the server to resume: ${(e as Error).message}`);
      }
    }
    if (offset < 0) {
      const meta: Record<string, string> = { filename: file.name, filetype: file.type || 'application/octet-stream' };
      const x = await this.xhr(job, 'POST', job.target.tusUrl, {
        ...base,
        'Upload-Length': String(file.size),
        'Upload-Metadata': tusMetadata(meta),
        ...this.uploadHeaders(job),
      }, null);
      if (x.status === 404 || x.status === 405 || x.status === 501) {
        // No tus here: use Clapshot's plain upload from now on.
        this.tusMissing = true;
        return this.multipartUpload(job);
      }
      if (x.status !== 201) throw httpError(x, 'Starting the upload');
      const loc = x.getResponseHeader('Location');
      if (!loc) throw new Permanent('The server did not say where to upload (no Location header)');
      job.tusLocation = new URL(loc, job.target.tusUrl).toString();
      rememberResume(job);
      offset = 0;
    }
    job.lastTick = 0;
    while (offset < file.size) {
      if (job.cancelled) throw new Error('Cancelled');
      const end = Math.min(file.size, offset + this.chunk);
      const x = await this.xhr(job, 'PATCH', job.tusLocation!, {
        ...base,
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
      }, file.slice(offset, end), offset);
      if (x.status === 413) {
        // Too large for something on the way: send smaller pieces.
        if (end - offset <= MIN_CHUNK) {
          throw new Permanent(`Upload failed: HTTP 413 – the server or a proxy in front of it refuses even ${formatBytes(end - offset)} requests`);
        }
        this.chunk = Math.max(MIN_CHUNK, Math.floor((end - offset) / 2));
        this.progress(job, offset);
        continue;
      }
      if (x.status === 409) {
        // Offsets disagree: start over from what the server has.
        throw new Error('The server had a different upload offset; resuming');
      }
      if (x.status === 404 || x.status === 410) {
        forgetResume(job);
        job.tusLocation = null;
        throw new Error('The server forgot the partial upload; starting again');
      }
      if (x.status !== 204 && x.status !== 200) throw httpError(x, 'Upload');
      const next = Number(x.getResponseHeader('Upload-Offset'));
      offset = isFinite(next) && next > offset ? next : end;
      this.progress(job, offset);
      job.item.attempt = 0;
    }
    forgetResume(job);
    job.tusLocation = null;
  }
}

function httpError(x: XMLHttpRequest, what: string): Error {
  const text = (x.responseText || '').trim().slice(0, 300);
  const msg = `${what} failed: HTTP ${x.status}${text ? ` – ${text}` : x.statusText ? ` ${x.statusText}` : ''}`;
  // 4xx (but not 408/409/423/429) will fail the same way again.
  return x.status >= 400 && x.status < 500 && ![408, 409, 423, 429].includes(x.status) ? new Permanent(msg) : new Error(msg);
}

function resumeKey(job: Job) {
  const f = job.file;
  return `clapshot_tus:${job.target.tusUrl}|${f.name}|${f.size}|${f.lastModified}|${JSON.stringify(job.target.listingData)}`;
}
function rememberResume(job: Job) {
  try {
    localStorage.setItem(resumeKey(job), job.tusLocation ?? '');
  } catch {
    /* resuming after a reload is then not possible */
  }
}
function recallResume(job: Job): string | null {
  try {
    return localStorage.getItem(resumeKey(job)) || null;
  } catch {
    return null;
  }
}
function forgetResume(job: Job) {
  try {
    localStorage.removeItem(resumeKey(job));
  } catch {
    /* nothing to forget */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
