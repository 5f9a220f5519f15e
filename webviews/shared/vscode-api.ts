/** The webview side of VS Code's message channel and state (typed). Browser code only. */
import type { ExtensionMessage, WebviewMessage } from '../messages/metrics-messages';

interface VsCodeApi<S> {
  postMessage(message: WebviewMessage): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export function connect<S>(onMessage: (m: ExtensionMessage) => void, types: readonly ExtensionMessage['type'][]): VsCodeApi<S> {
  const api = acquireVsCodeApi<S>();
  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    const data = e.data as { type?: unknown } | null;
    if (data && typeof data === 'object' && types.includes(data.type as ExtensionMessage['type'])) onMessage(data as ExtensionMessage);
    else console.warn(`weft: ignored a message of unknown type ${JSON.stringify(data?.type)}`);
  });
  return api;
}
