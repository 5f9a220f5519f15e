/** Small inline SVG glyphs and charts drawn from the extension's chart models. Browser code only. */
import { svg, type SVGTemplateResult } from 'lit';
import type { LineChart, Sparkline } from '../../extension/metrics/chart-model';
import type { Health } from '../messages/metrics-messages';

/** A 14 px health mark: check (ok), triangle (degraded), cross (failing), ring (idle). Colours come from CSS classes. */
export function healthGlyph(health: Health): SVGTemplateResult {
  const label = { ok: 'healthy', degraded: 'degraded', failing: 'failing', idle: 'no traffic' }[health];
  const body = {
    ok: svg`<circle cx="8" cy="8" r="7" class="fill"/><path d="M4.6 8.2l2.2 2.2 4.6-4.8" class="mark"/>`,
    degraded: svg`<path d="M8 1.5l7 13H1z" class="fill"/><path d="M8 6v4M8 12v.6" class="mark"/>`,
    failing: svg`<circle cx="8" cy="8" r="7" class="fill"/><path d="M5.4 5.4l5.2 5.2M10.6 5.4l-5.2 5.2" class="mark"/>`,
    idle: svg`<circle cx="8" cy="8" r="5.5" class="ring"/>`,
  }[health];
  return svg`<svg class="glyph ${health}" viewBox="0 0 16 16" width="14" height="14" role="img" aria-label=${label}><title>${label}</title>${body}</svg>`;
}

/** A padlock: closed for mTLS, open for plaintext, half-filled for a mix. */
export function lockGlyph(mtls: 'yes' | 'no' | 'mixed'): SVGTemplateResult {
  const shackle = mtls === 'no' ? 'M5 7V5a3 3 0 0 1 6 0' : 'M5 7V5a3 3 0 0 1 6 0v2';
  return svg`<svg class="lock ${mtls}" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
    <path d=${shackle} class="shackle"/><rect x="3" y="7" width="10" height="7.5" rx="1.5" class="body"/>
  </svg>`;
}

export function sparklineSvg(s: Sparkline, health: Health): SVGTemplateResult {
  return svg`<svg class="spark ${health}" viewBox="0 0 ${s.width} ${s.height}" width=${s.width} height=${s.height} aria-hidden="true">
    <line x1="0" x2=${s.width} y1=${s.height - 0.5} y2=${s.height - 0.5} class="base"/>
    ${s.lines.map((points) => svg`<polyline points=${points} class="line"/>`)}
    ${s.last ? svg`<circle cx=${s.last.x} cy=${s.last.y} r="1.8" class="dot"/>` : ''}
  </svg>`;
}

const AXIS_W = 44;
const AXIS_H = 18;

/** A line chart `width` px wide: grid and labels in pixels, the lines scaled from the model's width. */
export function lineChartSvg(c: LineChart, width: number): SVGTemplateResult {
  const plotW = Math.max(40, width - AXIS_W - 8);
  const sx = plotW / c.width;
  return svg`<svg class="chart" viewBox="0 0 ${width} ${c.height + AXIS_H + 6}" width=${width} height=${c.height + AXIS_H + 6} role="img" aria-label=${c.title}>
    <g transform="translate(${AXIS_W} 4)">
      ${c.yTicks.map((t) => svg`<line class="grid" x1="0" x2=${plotW} y1=${t.y} y2=${t.y}/><text class="tick" x="-6" y=${t.y} dy="0.32em" text-anchor="end">${t.label}</text>`)}
      ${c.xTicks.map((t) => svg`<text class="tick" x=${t.x * sx} y=${c.height + 14} text-anchor=${t.x === 0 ? 'start' : t.x >= c.width ? 'end' : 'middle'}>${t.label}</text>`)}
      <g transform="scale(${sx} 1)">
        ${c.series.map((s) => s.lines.map((points) => svg`<polyline class="series ${s.name}" points=${points} vector-effect="non-scaling-stroke"/>`))}
      </g>
    </g>
  </svg>`;
}
