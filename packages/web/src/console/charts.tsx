import { axisTicks } from './usage.ts';

/** A small bar chart in SVG: enough for usage by day, model, agent or key, with no chart library to ship. */
export function BarChart({ title, data, format }: { title: string; data: Array<{ label: string; value: number }>; format: (n: number) => string }) {
  const width = 640;
  const height = 220;
  // Few bars have room for level labels; many get slanted ones, which need more space below.
  const slant = data.length > 6;
  const pad = { top: 12, right: 8, bottom: slant ? 64 : 28, left: 64 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = Math.max(0, ...data.map((d) => d.value));
  const ticks = axisTicks(max);
  const top = ticks.at(-1)!;
  const band = data.length > 0 ? innerW / data.length : innerW;
  const barW = Math.max(2, Math.min(48, band * 0.7));
  const every = Math.max(1, Math.ceil(data.length / 12));

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title} preserveAspectRatio="xMidYMid meet">
        {ticks.map((v, i) => {
          const y = pad.top + innerH - (top > 0 ? (v / top) * innerH : 0);
          return (
            <g key={i} className="tick">
              <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} />
              <text x={pad.left - 6} y={y + 4} textAnchor="end">{format(v)}</text>
            </g>
          );
        })}
        {data.map((d, i) => {
          const h = top > 0 ? (d.value / top) * innerH : 0;
          const x = pad.left + i * band + (band - barW) / 2;
          return (
            <g key={`${d.label}-${i}`} className="bar">
              <rect x={x} y={pad.top + innerH - h} width={barW} height={h}>
                <title>{`${d.label}: ${format(d.value)}`}</title>
              </rect>
              {i % every === 0 && (
                <text x={x + barW / 2} y={height - pad.bottom + 14} textAnchor={slant ? 'end' : 'middle'} transform={slant ? `rotate(-30 ${x + barW / 2} ${height - pad.bottom + 14})` : undefined}>
                  {d.label.length > 16 ? `${d.label.slice(0, 15)}…` : d.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
