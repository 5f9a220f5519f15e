/**
 * VS Code adapter of the manifest validator (the only place it meets `vscode`): diagnostics as the
 * user types (debounced), hovers, quick fixes, and a workspace index of every YAML file kept fresh
 * by a file watcher. All decisions live in mesh/validate; this file only wires and copies.
 */
import * as vscode from 'vscode';
import { Validator } from '../../mesh/validate/engine';
import type { Finding, Range } from '../../mesh/validate/finding';
import { codeActionsFor, contains, hoverMarkdown, toDiagnosticData } from '../../mesh/validate/editor-conversion';
import { looksLikeKubernetesManifest, MAX_FILE_BYTES } from '../../mesh/validate/manifest-file';

const DEBOUNCE_MS = 250;
const YAML_GLOB = '**/*.{yaml,yml}';
const SELECTOR: vscode.DocumentSelector = [{ language: 'yaml' }, { pattern: YAML_GLOB }];

function isYaml(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'yaml' || /\.ya?ml$/i.test(doc.fileName);
}
const toVsRange = (r: Range): vscode.Range => new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
const fromVsRange = (r: vscode.Range): Range => ({ start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } });

export function registerManifestDiagnostics(context: vscode.ExtensionContext): void {
  const validator = new Validator();
  const collection = vscode.languages.createDiagnosticCollection('weft');
  const findings = new Map<string, Finding[]>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const docs = vscode.Uri.joinPath(context.extensionUri, 'docs', 'rules.md').toString();

  const publish = (uri: vscode.Uri): void => {
    const key = uri.toString();
    const list = validator.validateFile(key);
    findings.set(key, list);
    collection.set(uri, list.map((f) => {
      const d = toDiagnosticData(f, docs);
      const diag = new vscode.Diagnostic(toVsRange(d.range), d.message, d.severity as vscode.DiagnosticSeverity);
      diag.source = d.source;
      diag.code = { value: d.code.value, target: vscode.Uri.parse(d.code.target) };
      return diag;
    }));
  };

  /** Re-checks every open manifest: a change in one file can change findings in others. */
  const publishOpen = (): void => {
    for (const doc of vscode.workspace.textDocuments) if (isYaml(doc) && validator.hasFile(doc.uri.toString())) publish(doc.uri);
  };

  const fromEditor = (doc: vscode.TextDocument): void => {
    if (!isYaml(doc)) return;
    const text = doc.getText();
    const key = doc.uri.toString();
    if (!looksLikeKubernetesManifest(text)) {
      validator.removeFile(key);
      findings.delete(key);
      collection.delete(doc.uri);
      return;
    }
    validator.setFile(key, text);
    publishOpen();
  };

  const schedule = (doc: vscode.TextDocument): void => {
    const key = doc.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      fromEditor(doc);
    }, DEBOUNCE_MS));
  };

  const fromDisk = async (uri: vscode.Uri): Promise<void> => {
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) return; // the editor's text wins
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      const text = stat.size > MAX_FILE_BYTES ? ' '.repeat(stat.size) : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      if (looksLikeKubernetesManifest(text) || stat.size > MAX_FILE_BYTES) validator.setFile(uri.toString(), text);
      else validator.removeFile(uri.toString());
    } catch {
      validator.removeFile(uri.toString());
    }
  };

  const indexWorkspace = async (): Promise<void> => {
    const uris = await vscode.workspace.findFiles(YAML_GLOB, '**/node_modules/**');
    for (const uri of uris) await fromDisk(uri);
    for (const doc of vscode.workspace.textDocuments) if (isYaml(doc)) fromEditor(doc);
    publishOpen();
  };

  const watcher = vscode.workspace.createFileSystemWatcher(YAML_GLOB);
  const onDisk = (uri: vscode.Uri): void => void fromDisk(uri).then(publishOpen);
  watcher.onDidCreate(onDisk);
  watcher.onDidChange(onDisk);
  watcher.onDidDelete((uri) => {
    validator.removeFile(uri.toString());
    findings.delete(uri.toString());
    collection.delete(uri);
    publishOpen();
  });

  context.subscriptions.push(
    collection,
    watcher,
    vscode.workspace.onDidOpenTextDocument(fromEditor),
    vscode.workspace.onDidChangeTextDocument((e) => schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      findings.delete(doc.uri.toString());
      collection.delete(doc.uri);
      void fromDisk(doc.uri);
    }),
    vscode.languages.registerHoverProvider(SELECTOR, {
      provideHover(doc, pos) {
        const here = (findings.get(doc.uri.toString()) ?? []).filter((f) => contains(f.range, { line: pos.line, character: pos.character }));
        const md = hoverMarkdown(here, docs);
        return md ? new vscode.Hover(new vscode.MarkdownString(md)) : undefined;
      },
    }),
    vscode.languages.registerCodeActionsProvider(SELECTOR, {
      provideCodeActions(doc, range, ctx) {
        const list = findings.get(doc.uri.toString()) ?? [];
        return codeActionsFor(list, fromVsRange(range)).map((a) => {
          const action = new vscode.CodeAction(a.title, vscode.CodeActionKind.QuickFix);
          const edit = new vscode.WorkspaceEdit();
          for (const e of a.edits) edit.replace(doc.uri, toVsRange(e.range), e.newText);
          action.edit = edit;
          action.isPreferred = a.isPreferred;
          action.diagnostics = ctx.diagnostics.filter((d) => (typeof d.code === 'object' ? d.code.value : d.code) === a.code && d.range.isEqual(toVsRange(a.finding.range)));
          return action;
        });
      },
    }, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
  void indexWorkspace();
}
