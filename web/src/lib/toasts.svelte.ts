// Short-lived notices in a corner. Texts are always rendered as text.

export type ToastKind = 'info' | 'ok' | 'warn' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
  details?: string;
}

class Toasts {
  list = $state<Toast[]>([]);
  private next = 1;

  add(kind: ToastKind, text: string, opts: { details?: string; ttlMs?: number } = {}) {
    const id = this.next++;
    this.list = [...this.list.slice(-4), { id, kind, text, details: opts.details }];
    const ttl = opts.ttlMs ?? (kind === 'error' ? 8000 : 4500);
    if (ttl > 0) setTimeout(() => this.dismiss(id), ttl);
    return id;
  }

  dismiss(id: number) {
    this.list = this.list.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
