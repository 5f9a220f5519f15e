/**
 * The injector webhook in its own process for test/bench/webhook.bench.ts (so the client's work does
 * not share its event loop). argv[2]: JSON { certPem, keyPem }. Answers { type: 'ready', port }.
 */
import { startInjectorWebhook } from '../../../mesh/control/injector/webhook-server';
import type { NamespaceLike } from '../../../mesh/control/injector/kube-types';

const { certPem, keyPem } = JSON.parse(process.argv[2] ?? '{}') as { certPem: string; keyPem: string };
const namespaces: Record<string, NamespaceLike> = {
  shop: { metadata: { name: 'shop', annotations: { 'weft.dev/inject': 'enabled', 'config.weft.dev/skip-outbound-ports': '3306' } } },
  plain: { metadata: { name: 'plain' } },
};

startInjectorWebhook({
  host: '127.0.0.1',
  port: 0,
  certPem,
  keyPem,
  meshConfig: { proxyImage: 'ghcr.io/weft-dev/weft:0.1.0', proxyVersion: '0.1.0' },
  namespaceLookup: (ns) => namespaces[ns],
}).then(
  (w) => {
    process.send?.({ type: 'ready', port: w.port });
    const stop = () => void w.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('disconnect', stop);
  },
  (err: unknown) => process.send?.({ type: 'error', message: String(err) }),
);
