/** Runs the load generator (load-generator.ts) once in its own process and returns its result. */
import { forkScript, type ChildMessage } from './child-script';
import type { GeneratorConfig, GeneratorResult } from './load-generator';

export async function runGeneratorProcess(cfg: GeneratorConfig, core?: number): Promise<GeneratorResult> {
  const p = forkScript('load-generator.ts', cfg, { core });
  try {
    const m = await p.next<ChildMessage & { result: GeneratorResult }>((cfg.warmupSeconds + cfg.seconds) * 1000 + 60_000);
    return m.result;
  } finally {
    await p.stop();
  }
}
