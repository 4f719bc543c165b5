// Comment exports, as the server offers them at
// GET api/media/<id>/comments/export?format=... (internal/export). The
// labels say which editing suite reads which file.

export interface ExportFormat {
  format: 'edl' | 'csv' | 'fcpxml' | 'premiere' | 'html';
  label: string;
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  { format: 'edl', label: 'EDL markers (CMX3600: Avid, Resolve, Premiere)' },
  { format: 'csv', label: 'CSV spreadsheet (timecode, frame, user, text, replies)' },
  { format: 'fcpxml', label: 'FCPXML markers (Final Cut Pro, DaVinci Resolve)' },
  { format: 'premiere', label: 'Premiere Pro markers (XML)' },
  { format: 'html', label: 'Report with frames and drawings (HTML, prints to PDF)' },
];

/** The download URL of a media file's comments in one format. */
export function exportUrl(apiUrl: string, mediaId: string, format: ExportFormat['format']): string {
  return `${apiUrl}media/${encodeURIComponent(mediaId)}/comments/export?format=${format}`;
}
