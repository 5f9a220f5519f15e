/**
 * The service panel: health and golden metrics at a glance, charts over the last minutes, the
 * traffic split between backends and the inbound / outbound edges with their mTLS identities. Draws
 * what the extension sends; the charts are sized to the panel's width (redrawn on resize).
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { html, nothing, render, type TemplateResult } from 'lit';
import type { EdgeRow, ExtensionMessage, PanelMessage, SplitRow } from './messages/metrics-messages';
import { healthGlyph, lineChartSvg, lockGlyph } from './shared/glyphs';
import { connect } from './shared/vscode-api';
import './service.css';

interface State {
  panel?: PanelMessage;
}

const root = document.getElementById('root')!;
let cleared = false;
/** The first render replaces the shell's "Loading…" (lit appends to what a container holds). */
function clearOnce(): void {
  if (!cleared) root.replaceChildren();
  cleared = true;
}
let current: PanelMessage | undefined;
const vscode = connect<State>((m: ExtensionMessage) => {
  if (m.type !== 'panel') return;
  current = m;
  vscode.setState({ panel: m });
  draw();
}, ['panel']);

function chartWidth(): number {
  const w = root.clientWidth || 600;
  // Three charts side by side on a wide panel, two on a medium one, else one per line (gap 16 px).
  const columns = w >= 1200 ? 3 : w >= 640 ? 2 : 1;
  return Math.floor((w - 16 * (columns - 1)) / columns);
}

function lock(e: EdgeRow): TemplateResult {
  const text = e.mtls === 'yes' ? 'mTLS' : e.mtls === 'mixed' ? 'partly mTLS' : 'plaintext';
  return html`<span class="mtls ${e.mtls}" title=${text}>${lockGlyph(e.mtls)} ${text}</span>`;
}

function edges(title: string, rows: EdgeRow[], peerLabel: string, direction: 'inbound' | 'outbound'): TemplateResult {
  return html`<section class="edges" data-direction=${direction}>
    <h2>${title} <vscode-badge variant="counter">${rows.length}</vscode-badge></h2>
    ${rows.length === 0
      ? html`<p class="quiet">No ${direction} traffic in the window.</p>`
      : html`<table><thead><tr><th>${peerLabel}</th><th>Security</th><th>Client identity</th><th>Server identity</th><th class="num">Requests</th></tr></thead>
        <tbody>${rows.map((e) => html`<tr class="edge" data-peer=${e.peer}>
          <td><span class="label">${e.peer}</span>${e.peerNamespace !== current?.namespace ? html` <span class="quiet">(${e.peerNamespace})</span>` : nothing}</td>
          <td>${lock(e)}</td><td class="id">${e.clientId}</td><td class="id">${e.serverIds}</td><td class="num">${e.requests}</td></tr>`)}</tbody></table>`}
  </section>`;
}

function split(rows: SplitRow[]): TemplateResult {
  return html`<section class="split">
    <h2>Traffic split</h2>
    <table><thead><tr><th>Backend</th><th class="num">Weight</th><th class="num">RPS</th><th class="bar-col">Observed share</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr class="backend" data-workload=${r.workload}>
      <td class="label">${r.workload}</td><td class="num">${r.weightShare}</td><td class="num">${r.rps}</td>
      <td class="bar-col"><svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="8" rx="2"/><rect class="fill" width=${r.observedPercent} height="8" rx="2"/></svg><span class="num share">${r.observedShare}</span></td>
    </tr>`)}</tbody></table>
  </section>`;
}

function draw(): void {
  const m = current;
  if (!m) return;
  clearOnce();
  const width = chartWidth();
  const status = m.status.level === 'ok' ? nothing : html`<p class="status ${m.status.level}" role="status">${m.status.message}</p>`;
  render(
    html`<header class="head ${m.health}">
        ${healthGlyph(m.health)}
        <h1>${m.name}</h1>
        <vscode-badge>${m.kind}</vscode-badge>
        <span class="quiet">${m.namespace}</span>
        <span class="title">${m.title}</span>
      </header>
      ${status}
      <div class="tiles">${m.summary.map((s) => html`<div class="tile ${s.label === 'Success' ? `success ${m.health}` : ''}"><div class="value num">${s.value}</div><div class="tile-label">${s.label}</div></div>`)}</div>
      <div class="charts">
        ${m.charts.map((c) => html`<figure class="chart-box" data-title=${c.title}>
          <figcaption><span>${c.title}</span>
            <span class="legend">${c.series.map((s) => html`<span class="key ${s.name}"><svg viewBox="0 0 10 10" width="10" height="10"><rect width="10" height="3" y="3.5" rx="1" class="swatch ${s.name}"/></svg>${c.series.length > 1 ? `${s.name} ` : ''}<b class="num">${s.latest}</b></span>`)}</span>
          </figcaption>
          ${c.empty ? html`<p class="quiet nodata">Collecting… the chart fills as the numbers come in.</p>` : lineChartSvg(c, width)}
        </figure>`)}
      </div>
      ${m.split ? split(m.split) : nothing}
      <div class="edge-grid">
        ${edges('Inbound', m.inbound, 'From', 'inbound')}
        ${edges('Outbound', m.outbound, 'To', 'outbound')}
      </div>
      <p class="footer">updated ${m.updatedAt}${m.source ? ` · ${m.source}` : ''}</p>`,
    root,
  );
}

new ResizeObserver(() => draw()).observe(root);
const saved = vscode.getState()?.panel;
if (saved) {
  current = saved;
  draw();
}
vscode.postMessage({ type: 'ready' });
