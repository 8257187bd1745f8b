/**
 * Saving a text file the main process made (a capture): one path for the whole renderer.
 * In the browser host it is a download; Electron shows its save dialog for the same link
 * (its session lets through only our own `unknot-capture-….jsonl` blobs, see
 * `electron/main/window.ts`).
 */

/** Saves `text` as `fileName` (a download, or Electron's save dialog). `type`: the MIME type (default JSON lines). */
export function saveTextFile(fileName: string, text: string, type = 'application/x-ndjson'): void {
  const blob = new Blob([text], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
