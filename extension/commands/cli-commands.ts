/**
 * Commands that run the bundled `weft` CLI (dist/weft.js, shipped in the .vsix) with the extension
 * host's own Node: Start Local Demo (`weft demo --detach`) and Stop Local Demo (`weft local down`),
 * in the workspace folder (the local mesh keeps its state in .weft/local there). Output goes to
 * the Weft output channel; the progress notification can cancel (the CLI's process group ends).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { Explorer } from '../explorer/explorer';
import { cliInvocation, workspaceFolderFailure } from './command-model';
import { showFailure } from './namespace-commands';

interface CliRun {
  code: number | null;
  cancelled: boolean;
  lastLines: string;
}

function runCli(ex: Explorer, args: string[], cwd: string, token: vscode.CancellationToken, onLine: (line: string) => void): Promise<CliRun> {
  const cli = vscode.Uri.joinPath(ex.context.extensionUri, 'dist', 'weft.js').fsPath;
  const inv = cliInvocation(process.execPath, cli, args, process.env);
  ex.output.appendLine(`$ weft ${args.join(' ')}   (in ${cwd})`);
  return new Promise((resolve) => {
    const child = spawn(inv.command, inv.args, { cwd, env: inv.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let cancelled = false;
    const take = (b: Buffer): void => {
      const text = b.toString();
      ex.output.append(text);
      tail = (tail + text).slice(-2_000);
      for (const line of text.split('\n')) if (line.trim()) onLine(line.trim());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const sub = token.onCancellationRequested(() => {
      cancelled = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    });
    child.on('error', (err) => {
      tail += `\n${err.message}`;
    });
    child.on('close', (code) => {
      sub.dispose();
      resolve({ code, cancelled, lastLines: tail.trim().split('\n').slice(-3).join(' ') });
    });
  });
}

async function inFolder(ex: Explorer, title: string, args: string[], success: string): Promise<boolean> {
  const folder = ex.workspaceFolder;
  if (!folder) {
    await showFailure(workspaceFolderFailure());
    return false;
  }
  const cli = vscode.Uri.joinPath(ex.context.extensionUri, 'dist', 'weft.js').fsPath;
  if (!existsSync(cli)) {
    await showFailure({ message: `the bundled CLI is missing (${cli})`, hint: 'rebuild the extension (npm run build) or reinstall it' });
    return false;
  }
  const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
    runCli(ex, args, folder, token, (line) => progress.report({ message: line.slice(0, 120) })),
  );
  await ex.reloadLocal();
  if (run.cancelled) {
    void vscode.window.showWarningMessage(`${title}: cancelled.`);
    return false;
  }
  if (run.code !== 0) {
    await showFailure({ message: `${title} failed (exit ${run.code ?? 'signal'}): ${run.lastLines || 'no output'}`, hint: 'read the Weft output channel for the whole log' }, 'Show Output');
    return false;
  }
  void vscode.window.showInformationMessage(success);
  return true;
}

export async function startLocalDemo(ex: Explorer): Promise<void> {
  ex.start();
  await inFolder(ex, 'Starting the local demo', ['demo', '--detach'], 'The local demo runs: see "Local mesh" in the Weft explorer.');
}

export async function stopLocalDemo(ex: Explorer): Promise<void> {
  ex.start();
  await inFolder(ex, 'Stopping the local demo', ['local', 'down'], 'The local demo stopped.');
}
