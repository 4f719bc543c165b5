// Annotations on a paused frame. Strokes are kept as vectors in 0..1
// coordinates of the picture (so they follow any display size, and undo is
// exact) and exported as a transparent WebP at the video's own size: the
// form Clapshot's server stores and its client shows over the video.

export const COLORS: { name: string; css: string }[] = [
  { name: 'red', css: '#ff3b30' },
  { name: 'green', css: '#34c759' },
  { name: 'blue', css: '#2f7bff' },
  { name: 'cyan', css: '#32d7e6' },
  { name: 'yellow', css: '#ffd60a' },
  { name: 'black', css: '#000000' },
  { name: 'white', css: '#ffffff' },
];

export type Tool = 'pen' | 'arrow' | 'rect';

export interface Stroke {
  tool: Tool;
  color: string;
  /** Line width as a fraction of the picture's width. */
  width: number;
  /** x0, y0, x1, y1, ... in 0..1 of the picture. */
  points: number[];
}

const LINE = 0.005;
/** Exported drawings are at most this wide (WebP stays small). */
const MAX_EXPORT_WIDTH = 1920;

export class Drawing {
  /** 'edit': drawing on the paused frame; 'view': showing a saved drawing. */
  mode = $state<'off' | 'edit' | 'view'>('off');
  color = $state(COLORS[0].css);
  tool = $state<Tool>('pen');
  strokes = $state.raw<Stroke[]>([]);
  redoStack = $state.raw<Stroke[]>([]);
  /** A saved drawing being shown (data URL). */
  image = $state<string | null>(null);
  private cur: Stroke | null = null;
  /** Called when a stroke is finished (collab mirrors it). */
  onChange: () => void = () => {};

  get hasStrokes() {
    return this.strokes.length > 0;
  }

  startEditing() {
    this.image = null;
    this.mode = 'edit';
  }

  stop() {
    this.mode = 'off';
    this.image = null;
    this.cur = null;
  }

  /** Shows a saved drawing over the video. */
  show(dataUrl: string) {
    this.strokes = [];
    this.redoStack = [];
    this.image = dataUrl;
    this.mode = 'view';
  }

  begin(x: number, y: number) {
    if (this.mode !== 'edit') return;
    this.cur = { tool: this.tool, color: this.color, width: LINE, points: [x, y, x, y] };
    this.strokes = [...this.strokes, this.cur];
    this.redoStack = [];
  }

  extend(x: number, y: number) {
    const s = this.cur;
    if (!s) return;
    if (s.tool === 'pen') s.points.push(x, y);
    else {
      s.points[2] = x;
      s.points[3] = y;
    }
    this.strokes = [...this.strokes];
  }

  end() {
    if (!this.cur) return;
    this.cur = null;
    this.onChange();
  }

  undo() {
    const last = this.strokes.at(-1);
    if (!last) return;
    this.strokes = this.strokes.slice(0, -1);
    this.redoStack = [...this.redoStack, last];
    this.onChange();
  }

  redo() {
    const s = this.redoStack.at(-1);
    if (!s) return;
    this.redoStack = this.redoStack.slice(0, -1);
    this.strokes = [...this.strokes, s];
    this.onChange();
  }

  clear() {
    if (!this.strokes.length) return;
    this.redoStack = [...this.redoStack, ...[...this.strokes].reverse()];
    this.strokes = [];
    this.onChange();
  }

  /** Clears everything, including undo history (after sending). */
  reset() {
    this.strokes = [];
    this.redoStack = [];
    this.cur = null;
  }

  /** Draws the strokes into a w×h context. */
  render(ctx: CanvasRenderingContext2D, w: number, h: number) {
    ctx.clearRect(0, 0, w, h);
    for (const s of this.strokes) renderStroke(ctx, s, w, h);
  }

  /** The drawing as a transparent WebP data URL at (about) the video's
   * size, or undefined if nothing is drawn. */
  toDataURL(videoWidth: number, videoHeight: number): string | undefined {
    if (!this.strokes.length) return undefined;
    let w = videoWidth || 1280;
    let h = videoHeight || 720;
    if (w > MAX_EXPORT_WIDTH) {
      h = Math.round((h * MAX_EXPORT_WIDTH) / w);
      w = MAX_EXPORT_WIDTH;
    }
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    if (!ctx) return undefined;
    this.render(ctx, w, h);
    return c.toDataURL('image/webp', 0.85);
  }
}

function renderStroke(ctx: CanvasRenderingContext2D, s: Stroke, w: number, h: number) {
  const p = s.points;
  ctx.strokeStyle = s.color;
  ctx.lineWidth = Math.max(1.5, s.width * w);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  if (s.tool === 'pen') {
    ctx.moveTo(p[0] * w, p[1] * h);
    if (p.length === 4 && p[0] === p[2] && p[1] === p[3]) ctx.lineTo(p[0] * w + 0.01, p[1] * h);
    for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i] * w, p[i + 1] * h);
  } else if (s.tool === 'rect') {
    ctx.rect(p[0] * w, p[1] * h, (p[2] - p[0]) * w, (p[3] - p[1]) * h);
  } else {
    const [x0, y0, x1, y1] = [p[0] * w, p[1] * h, p[2] * w, p[3] * h];
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    const a = Math.atan2(y1 - y0, x1 - x0);
    const head = Math.max(10, ctx.lineWidth * 4);
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(a - 0.45), y1 - head * Math.sin(a - 0.45));
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(a + 0.45), y1 - head * Math.sin(a + 0.45));
  }
  ctx.stroke();
}
