/**
 * The mesh image's Dockerfile, read statically (it is built for real by the kind suite where Docker
 * runs): two stages, dependencies from the lock file, the runtime with iptables and ip6tables,
 * running as the proxy's UID, `weft` as the entrypoint, and a build context without node_modules.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PROXY_UID } from '../../../mesh/config/ports';

const dockerfile = readFileSync(new URL('../../../dev-cluster/image/Dockerfile', import.meta.url), 'utf8');
const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

test('multi-stage: a build stage (npm ci, build, prune) and a slim runtime stage', () => {
  const froms = instructions.filter((l) => l.startsWith('FROM '));
  assert.equal(froms.length, 2);
  assert.match(froms[0]!, /^FROM node:20-[a-z]+-slim AS build$/);
  assert.match(froms[1]!, /^FROM node:20-[a-z]+-slim$/);
  assert.match(dockerfile, /RUN npm ci /);
  assert.match(dockerfile, /node scripts\/build\.mjs && npm prune --omit=dev/);
  assert.match(dockerfile, /COPY --from=build \/src\/dist\/weft\.js/);
});

test('runtime: iptables (nft) and ip6tables, UID 2102, entrypoint weft', () => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  assert.match(runtime, /apt-get install -y --no-install-recommends iptables/);
  assert.match(runtime, /iptables --version \| grep -q nf_tables/);
  assert.ok(instructions.includes(`USER ${PROXY_UID}:${PROXY_UID}`), 'runs as the proxy UID');
  assert.ok(instructions.includes('ENTRYPOINT ["weft"]'));
});

test('.dockerignore keeps node_modules, dist and .git out of the build context', () => {
  const ignored = readFileSync(new URL('../../../.dockerignore', import.meta.url), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(p), p);
});
