/**
 * The HTML shell of a Weft webview: a strict Content-Security-Policy with a fresh nonce, the
 * bundled script and stylesheet from dist/webviews through asWebviewUri, nothing remote.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export const WEBVIEW_DIST = ['dist', 'webviews'] as const;

export function webviewRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIST)];
}

/** `name` is the bundle's base name: dist/webviews/<name>.view.js and .css. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (file: string): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...WEBVIEW_DIST, file)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${asset(`${name}.view.css`)}">
<title>${title}</title>
</head>
<body>
<main id="root" aria-live="polite"><p class="quiet">Loading…</p></main>
<script nonce="${nonce}" src="${asset(`${name}.view.js`)}"></script>
</body>
</html>`;
}
