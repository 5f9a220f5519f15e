/** `weft proxy`: runs one proxy configured by WEFT_PROXY_* environment variables (docs/proxy.md). */
import { parseProxyConfig } from '../proxy/config';
import { createLogger } from '../proxy/log';
import { startProxy } from '../proxy/proxy';
import { installLeanAsyncBind } from '../proxy/runtime/async-bind';

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('usage: weft proxy\n\nConfigured by WEFT_PROXY_* environment variables; see docs/proxy.md.\n');
    return 0;
  }
  const parsed = parseProxyConfig(process.env);
  if (!parsed.ok) {
    process.stderr.write(`weft proxy: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  const config = parsed.config;
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  installLeanAsyncBind();
  let proxy;
  try {
    proxy = await startProxy(config, log);
  } catch (e) {
    log.error(`proxy failed to start: ${(e as Error).message}`);
    return 1;
  }
  process.on('uncaughtException', (e) => log.error('unexpected error (proxy keeps serving)', { error: e.stack ?? String(e) }));
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      void proxy.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
