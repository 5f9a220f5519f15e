/**
 * Benchmark of the manifest validator (npm run bench:validate):
 *  1. a generated 1,000-document set (10 files × 100 documents) validated cold (parse + rules);
 *  2. re-validation after a one-line edit in one 100-document file (only that document is re-parsed;
 *     the rules run again over the workspace index).
 *  3. the first read of one finding's quick fixes (computed on demand, as the editor's code actions do).
 * Prints medians of repeated runs; targets: ≤ 150 ms and ≤ 20 ms. The CPU time of the process
 * (user + system) is printed too: on a shared 2-core machine it moves much less than wall time.
 */
import { Validator } from '../../mesh/validate/engine';

function namespaceDoc(ns: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  annotations:\n    weft.dev/inject: enabled\n`;
}
function deploymentDoc(ns: string, i: number): string {
  return `# workload ${i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: ${ns}
  labels: {app: app-${i}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}, tier: backend}
      annotations:
        config.weft.dev/proxy-log-level: info
    spec:
      containers:
      - name: main
        image: registry.example/app:${i}
        ports:
        - containerPort: ${i % 7 === 0 ? 5432 : 8080}
          name: ${i % 7 === 0 ? 'tcp-postgresql' : 'http'}
        readinessProbe:
          httpGet: {path: /ready, port: ${i % 7 === 0 ? 5432 : 8080}}
        resources:
          requests: {cpu: 10m, memory: 32Mi}
`;
}
function serviceDoc(ns: string, i: number): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: app-${i}\n  namespace: ${ns}\nspec:\n  selector: {app: app-${i}}\n  ports:\n  - name: main\n    port: ${i % 11 === 0 ? 4222 : 80}\n    targetPort: ${i % 7 === 0 ? 5432 : 8080}\n`;
}
function policyDoc(ns: string, i: number): string {
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np-${i}\n  namespace: ${ns}\nspec:\n  podSelector:\n    matchLabels: {app: app-${i}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: backend}}\n    ports:\n    - port: 8080\n${i % 3 === 0 ? '    - port: 4143\n' : ''}`;
}

/** 10 files × 100 documents: a Namespace, then Deployments, Services and NetworkPolicies. */
function generate(): Map<string, string> {
  const files = new Map<string, string>();
  let n = 0;
  for (let f = 0; f < 10; f++) {
    const ns = `team-${f}`;
    const docs = [namespaceDoc(ns)];
    while (docs.length < 100) {
      const k = docs.length % 3;
      docs.push(k === 1 ? deploymentDoc(ns, n) : k === 2 ? serviceDoc(ns, n) : policyDoc(ns, n));
      if (k === 0) n++;
    }
    files.set(`team-${f}.yaml`, docs.join('---\n'));
  }
  return files;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const files = generate();
const docCount = [...files.values()].reduce((a, t) => a + t.split(/^---$/m).length, 0);
const bytes = [...files.values()].reduce((a, t) => a + t.length, 0);

// 1. Cold validation of the whole set.
const cold: number[] = [];
const coldCpu: number[] = [];
let findings = 0;
for (let run = 0; run < 12; run++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const v = new Validator();
  for (const [name, text] of files) v.setFile(name, text);
  findings = v.validateAll().length;
  cold.push(performance.now() - t0);
  coldCpu.push(cpuMs(c0));
}

// 2. One-line edits in a 100-document file of a warm workspace.
const v = new Validator();
for (const [name, text] of files) v.setFile(name, text);
v.validateAll();
const target = 'team-4.yaml';
const original = files.get(target)!;
const edit: number[] = [];
const editCpu: number[] = [];
for (let run = 0; run < 60; run++) {
  const text = original.replace('replicas: 2\n', `replicas: ${3 + run}\n`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  v.setFile(target, text);
  v.validateFile(target);
  edit.push(performance.now() - t0);
  editCpu.push(cpuMs(c0));
}

// 3. Quick fixes are computed on demand (the editor asks for those under the cursor): the first
//    read of each finding's fixes in a warm file (the first finding of a document also builds its
//    yaml Document).
const fixRead: number[] = [];
for (const f of v.validateFile('team-7.yaml')) {
  const t0 = performance.now();
  if (f.fixes.length === 0) throw new Error(`no fix for ${f.code}`);
  fixRead.push(performance.now() - t0);
}

const coldMs = median(cold.slice(2));
const editMs = median(edit.slice(5));
console.log(`manifest set: ${docCount} documents in ${files.size} files, ${(bytes / 1024).toFixed(0)} KiB, ${findings} findings`);
console.log(`cold validation of the set:           median ${coldMs.toFixed(1)} ms (min ${Math.min(...cold).toFixed(1)}, CPU median ${median(coldCpu.slice(2)).toFixed(1)} ms, target <= 150 ms) ${coldMs <= 150 ? 'OK' : 'OVER'}`);
console.log(`fixes of one finding, on demand:       median ${median(fixRead.slice(5)).toFixed(2)} ms (max ${Math.max(...fixRead).toFixed(2)}, over ${fixRead.length} findings)`);
console.log(`one-line edit in a 100-document file: median ${editMs.toFixed(2)} ms (min ${Math.min(...edit).toFixed(2)}, CPU median ${median(editCpu.slice(5)).toFixed(2)} ms, target <= 20 ms) ${editMs <= 20 ? 'OK' : 'OVER'}`);
