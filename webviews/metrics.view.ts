/**
 * The sidebar metrics view: a namespace picker and, per section (services, workloads), a sortable
 * table with a health mark, a sparkline and the golden metrics of each row. It only draws what the
 * extension sends (rows are formatted and sorted there) and keeps the last snapshot in its state so
 * that it redraws at once when shown again.
 */
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { html, nothing, render, type TemplateResult } from 'lit';
import type { ExtensionMessage, SnapshotMessage, SortColumn, TableRow, TableSection } from './messages/metrics-messages';
import { healthGlyph, sparklineSvg } from './shared/glyphs';
import { connect } from './shared/vscode-api';
import './metrics.css';

interface State {
  snapshot?: SnapshotMessage;
}

const root = document.getElementById('root')!;
let cleared = false;
/** The first render replaces the shell's "Loading…" (lit appends to what a container holds). */
function clearOnce(): void {
  if (!cleared) root.replaceChildren();
  cleared = true;
}
const vscode = connect<State>((m: ExtensionMessage) => {
  if (m.type !== 'snapshot') return;
  vscode.setState({ snapshot: m });
  draw(m);
}, ['snapshot']);

const COLUMNS: { id: SortColumn | 'spark'; label: string; title: string; numeric: boolean }[] = [
  { id: 'name', label: 'Name', title: 'Sort by name', numeric: false },
  { id: 'spark', label: '', title: 'Requests per second, last 2 minutes', numeric: false },
  { id: 'success', label: 'Success', title: 'Success rate (sort: worst first)', numeric: true },
  { id: 'rps', label: 'RPS', title: 'Requests per second', numeric: true },
  { id: 'p50', label: 'P50', title: 'Latency, 50th percentile', numeric: true },
  { id: 'p95', label: 'P95', title: 'Latency, 95th percentile', numeric: true },
  { id: 'p99', label: 'P99', title: 'Latency, 99th percentile', numeric: true },
  { id: 'tcp', label: 'TCP', title: 'Open TCP connections', numeric: true },
];

function open(row: TableRow): void {
  vscode.postMessage({ type: 'open', kind: row.kind, namespace: row.namespace, name: row.name });
}

function header(s: SnapshotMessage): TemplateResult {
  return html`<tr>
    <th class="mark" aria-label="health"></th>
    ${COLUMNS.map((c) => {
      if (c.id === 'spark') return html`<th class="spark-col" title=${c.title}>trend</th>`;
      const id = c.id;
      const active = s.sort.column === id;
      const arrow = active ? (s.sort.descending ? '▾' : '▴') : '';
      return html`<th class="${c.numeric ? 'num' : ''} col-${id} ${active ? 'sorted' : ''}" aria-sort=${active ? (s.sort.descending ? 'descending' : 'ascending') : 'none'}>
        <button class="sort" title=${c.title} @click=${() => vscode.postMessage({ type: 'sort', column: id })}>${c.label}<span class="arrow">${arrow}</span></button>
      </th>`;
    })}
  </tr>`;
}

function row(r: TableRow): TemplateResult {
  return html`<tr class="row ${r.health}" tabindex="0" data-name=${r.name} data-kind=${r.kind} data-health=${r.health} title=${`${r.title} — click for the service panel`}
      @click=${() => open(r)} @keydown=${(e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && open(r)}>
    <td class="mark">${healthGlyph(r.health)}</td>
    <td class="name"><span class="label">${r.name}</span> <span class="meshed" title="meshed pods / pods">${r.meshed}</span></td>
    <td class="spark-col">${sparklineSvg(r.spark, r.health)}</td>
    <td class="num col-success success">${r.success}</td>
    <td class="num col-rps">${r.rps}</td>
    <td class="num col-p50">${r.p50}</td>
    <td class="num col-p95">${r.p95}</td>
    <td class="num col-p99">${r.p99}</td>
    <td class="num col-tcp">${r.tcp}</td>
  </tr>`;
}

function section(s: SnapshotMessage, sec: TableSection): TemplateResult {
  const failing = sec.rows.filter((r) => r.health === 'failing').length;
  return html`<section class="section" data-kind=${sec.kind}>
    <h2>${sec.title} <vscode-badge variant="counter">${sec.rows.length}</vscode-badge>
      ${failing > 0 ? html`<span class="failing-count">${healthGlyph('failing')} ${failing} failing</span>` : nothing}</h2>
    ${sec.rows.length === 0
      ? html`<p class="quiet">${sec.empty}</p>`
      : html`<div class="table-wrap"><table class="metrics"><thead>${header(s)}</thead><tbody>${sec.rows.map(row)}</tbody></table></div>`}
  </section>`;
}

function draw(s: SnapshotMessage): void {
  clearOnce();
  const status = s.status.level === 'ok' ? nothing : html`<p class="status ${s.status.level}" role="status">${s.status.message}</p>`;
  document.body.classList.toggle('stale', s.status.level === 'error');
  render(
    html`<div class="toolbar">
        <label for="ns">Namespace</label>
        <vscode-single-select id="ns" aria-label="Namespace" .value=${s.namespace ?? ''} ?disabled=${s.namespaces.length === 0}
            @change=${(e: Event) => {
              const value = (e.target as HTMLSelectElement).value;
              if (value && value !== s.namespace) vscode.postMessage({ type: 'selectNamespace', namespace: value });
            }}>
          ${(s.namespaces.length ? s.namespaces : [s.namespace ?? '']).map((n) => html`<vscode-option value=${n} ?selected=${n === s.namespace}>${n || '—'}</vscode-option>`)}
        </vscode-single-select>
      </div>
      ${status}
      ${s.sections.map((sec) => section(s, sec))}
      <p class="footer" title=${s.source}>${s.window} window · updated ${s.updatedAt}${s.source ? html` · ${s.source}` : nothing}</p>`,
    root,
  );
}

const saved = vscode.getState()?.snapshot;
if (saved) draw(saved);
vscode.postMessage({ type: 'ready' });
