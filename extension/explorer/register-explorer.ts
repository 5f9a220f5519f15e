/**
 * Registers the Weft explorer (view weft.explorer) and the Mesh commands. Activation cost only:
 * a tree view and command handlers. The controller (watches, client-node) and every command's
 * code load on first use, by dynamic import.
 */
import * as vscode from 'vscode';
import type { Explorer } from './explorer';
import type { ExplorerNode, NamespaceRef, WorkloadRef } from './explorer-model';

/** What VS Code holds for a row and passes to commands run on it: the node, plus {namespace, name, kind}. */
export type ExplorerElement = Partial<NamespaceRef & WorkloadRef> & { node: ExplorerNode };

const element = (node: ExplorerNode): ExplorerElement => ({ ...node.ref, node });

export function treeItemOf(n: ExplorerNode): vscode.TreeItem {
  const collapse = { none: vscode.TreeItemCollapsibleState.None, collapsed: vscode.TreeItemCollapsibleState.Collapsed, expanded: vscode.TreeItemCollapsibleState.Expanded } as const;
  const item = new vscode.TreeItem(n.label, collapse[n.collapsible]);
  item.id = n.id;
  if (n.description !== undefined) item.description = n.description;
  if (n.tooltip !== undefined) item.tooltip = new vscode.MarkdownString(n.tooltip);
  if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
  item.contextValue = n.contextValue;
  return item;
}

/** One target: the row's element from the explorer, or undefined from the palette. */
function target(arg: unknown): ExplorerElement | undefined {
  return typeof arg === 'object' && arg !== null && 'node' in arg ? (arg as ExplorerElement) : undefined;
}

export function registerExplorer(context: vscode.ExtensionContext): void {
  const changed = new vscode.EventEmitter<void>();
  let controller: Promise<Explorer> | undefined;
  const provider: vscode.TreeDataProvider<ExplorerElement> = {
    onDidChangeTreeData: changed.event as vscode.Event<void | ExplorerElement | undefined>,
    getTreeItem: (e) => treeItemOf(e.node),
    getChildren: async (e) => (e ? e.node.children : (await explorer()).roots()).map(element),
  };
  const treeView = vscode.window.createTreeView('weft.explorer', { treeDataProvider: provider, showCollapseAll: true });
  const explorer = (): Promise<Explorer> =>
    (controller ??= import('./explorer').then((m) => {
      const ex = new m.Explorer(context, { treeView: treeView as vscode.TreeView<unknown>, changed });
      context.subscriptions.push(ex);
      return ex;
    }));

  const commands: Record<string, (ex: Explorer, arg: ExplorerElement | undefined) => Promise<void>> = {
    'weft.refreshExplorer': (ex) => ex.refresh(),
    // Not in the palette (not contributed): the welcome view's "Show Details" link.
    'weft.showExplorerDetails': async (ex) => ex.showDetails(),
    'weft.injectNamespace': async (ex, t) => (await import('../commands/namespace-commands')).setNamespaceInjection(ex, true, t),
    'weft.uninjectNamespace': async (ex, t) => (await import('../commands/namespace-commands')).setNamespaceInjection(ex, false, t),
    'weft.restartWorkloads': async (ex, t) => (await import('../commands/namespace-commands')).restartWorkloads(ex, t),
    'weft.switchContext': async (ex) => (await import('../commands/namespace-commands')).switchContext(ex),
    'weft.startLocalDemo': async (ex) => (await import('../commands/cli-commands')).startLocalDemo(ex),
    'weft.stopLocalDemo': async (ex) => (await import('../commands/cli-commands')).stopLocalDemo(ex),
    'weft.installMesh': async (ex) => (await import('../commands/mesh-commands')).installMesh(ex),
    'weft.checkMesh': async (ex) => (await import('../commands/mesh-commands')).checkMesh(ex),
    'weft.startDevCluster': async (ex) => (await import('../commands/mesh-commands')).startDevCluster(ex),
    'weft.stopDevCluster': async (ex) => (await import('../commands/mesh-commands')).stopDevCluster(ex),
  };
  for (const [id, run] of Object.entries(commands)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg: unknown) => {
        try {
          await run(await explorer(), target(arg));
        } catch (err) {
          // A bug, not a user-facing failure: say so once, with where to look.
          void vscode.window.showErrorMessage(`Weft: ${id} failed unexpectedly: ${(err as Error).message}. See the Weft output channel.`);
          (await explorer()).output.appendLine(`${id}: ${(err as Error).stack ?? String(err)}`);
        }
      }),
    );
  }
  context.subscriptions.push(treeView, changed);
}
