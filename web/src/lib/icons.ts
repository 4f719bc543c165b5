// Our icon set: 24×24 outline paths (fill: solid shapes). Inline SVG keeps
// the first page small (no icon font) and lets icons take the text colour.

export const ICONS: Record<string, { d: string; fill?: boolean }> = {
  play: { d: 'M7 4v16l13-8z', fill: true },
  pause: { d: 'M6 4h4v16H6zM14 4h4v16h-4z', fill: true },
  stepBack: { d: 'M18 5v14l-9-7zM6 5v14' },
  stepFwd: { d: 'M6 5v14l9-7zM18 5v14' },
  repeat: { d: 'M17 2l4 4-4 4M3 11V9a3 3 0 0 1 3-3h15M7 22l-4-4 4-4M21 13v2a3 3 0 0 1-3 3H3' },
  loopIn: { d: 'M9 4H6v16h3M11 12h9M16 8l4 4-4 4' },
  loopOut: { d: 'M15 4h3v16h-3M4 12h9M9 8l4 4-4 4' },
  volume: { d: 'M4 9v6h4l5 4V5L8 9zM16 9a4 4 0 0 1 0 6M19 6a8 8 0 0 1 0 12' },
  mute: { d: 'M4 9v6h4l5 4V5L8 9zM17 9l5 6M22 9l-5 6' },
  fullscreen: { d: 'M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5' },
  download: { d: 'M12 3v12M7 10l5 5 5-5M4 21h16' },
  menu: { d: 'M4 6h16M4 12h16M4 18h16' },
  bell: { d: 'M6 16v-5a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0' },
  close: { d: 'M6 6l12 12M18 6L6 18' },
  pen: { d: 'M4 20l4-1L19 8l-3-3L5 16zM14 7l3 3' },
  undo: { d: 'M9 14L4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3' },
  redo: { d: 'M15 14l5-5-5-5M20 9H9a5 5 0 0 0 0 10h3' },
  trash: { d: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13' },
  clock: { d: 'M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z' },
  range: { d: 'M4 12h16M4 7v10M20 7v10M8 9l-3 3 3 3M16 9l3 3-3 3' },
  send: { d: 'M4 12l16-8-6 16-2-7z' },
  reply: { d: 'M10 8l-6 5 6 5M4 13h10a6 6 0 0 1 6 6' },
  folder: { d: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z' },
  folderPlus: { d: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2zM12 10v6M9 13h6' },
  film: { d: 'M4 4h16v16H4zM8 4v16M16 4v16M4 9h4M4 15h4M16 9h4M16 15h4' },
  image: { d: 'M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15 9.5h.01' },
  music: { d: 'M9 18V5l11-2v13M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0zM20 16a3 3 0 1 1-6 0 3 3 0 0 1 6 0z' },
  upload: { d: 'M12 16V4M7 9l5-5 5 5M4 20h16' },
  captions: { d: 'M3 6h18v12H3zM10 10.5a2 2 0 1 0 0 3M17 10.5a2 2 0 1 0 0 3' },
  link: { d: 'M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1' },
  collab: { d: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M19 8v6M16 11h6' },
  help: { d: 'M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0zM9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14M12 17h.01' },
  chevronDown: { d: 'M6 9l6 6 6-6' },
  arrowUp: { d: 'M12 19V5M5 12l7-7 7 7' },
  check: { d: 'M5 12l5 5 9-10' },
  eraser: { d: 'M4 20h16M7 16l-3-3 9-9 7 7-6 6H9z' },
  arrow: { d: 'M5 19L19 5M9 5h10v10' },
  rect: { d: 'M5 5h14v14H5z' },
  plus: { d: 'M12 5v14M5 12h14' },
  warning: { d: 'M12 3l10 18H2zM12 10v5M12 18h.01' },
  info: { d: 'M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0zM12 11v6M12 7h.01' },
  logout: { d: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10' },
  dot: { d: 'M12 12m-3 0a3 3 0 1 0 6 0 3 3 0 1 0-6 0', fill: true },
  edl: { d: 'M4 5h16M4 10h10M4 15h16M4 20h10' },
  camera: { d: 'M3 7h12v10H3zM15 10.5l6-3.5v10l-6-3.5' },
  back: { d: 'M15 5l-7 7 7 7' },
  keyboard: { d: 'M3 6h18v12H3zM7 10h.01M11 10h.01M15 10h.01M7 14h10' },
};

/** Font Awesome classes organizers send, mapped to our icons. */
const FA: [RegExp, string][] = [
  [/\bfa-folder-plus\b/, 'folderPlus'],
  [/\bfa-folder(-open)?\b/, 'folder'],
  [/\bfa-volume(-high|-up)?\b|\bfa-music\b|\bfa-file-audio\b/, 'music'],
  [/\bfa-(image|photo|file-image)\b/, 'image'],
  [/\bfa-(video|film|file-video)\b/, 'film'],
  [/\bfa-(edit|pen|pencil|pen-to-square)\b/, 'pen'],
  [/\bfa-(trash|trash-can|trash-alt)\b/, 'trash'],
  [/\bfa-(arrow-turn-up|level-up|level-up-alt|arrow-up)\b/, 'arrowUp'],
  [/\bfa-upload\b/, 'upload'],
  [/\bfa-download\b/, 'download'],
  [/\bfa-(link|share)\b/, 'link'],
  [/\bfa-(users|user-plus)\b/, 'collab'],
  [/\bfa-(circle-info|info)\b/, 'info'],
  [/\bfa-(triangle-exclamation|exclamation)\b/, 'warning'],
  [/\bfa-plus\b/, 'plus'],
];

export function iconForFaClass(classes: string | undefined): string {
  if (!classes) return 'dot';
  for (const [re, name] of FA) if (re.test(classes)) return name;
  return 'dot';
}
