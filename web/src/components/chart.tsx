/** A small bar chart in SVG (no chart library): one bar per bucket, labelled axis, accessible table. */
export function BarChart(props: {
  label: string;
  buckets: Array<{ label: string; value: number }>;
  height?: number;
}) {
  const h = props.height ?? 160;
  const w = 640;
  const pad = { l: 34, r: 8, t: 10, b: 24 };
  const max = Math.max(1, ...props.buckets.map((b) => b.value));
  const n = Math.max(1, props.buckets.length);
  const bw = (w - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  return (
    <figure className="chart" style={{ margin: 0 }}>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label}>
        {ticks.map((t) => (
          <g key={t}>
            <line className="axis" x1={pad.l} x2={w - pad.r} y1={y(t)} y2={y(t)} />
            <text x={pad.l - 4} y={y(t) + 3} textAnchor="end">
              {t}
            </text>
          </g>
        ))}
        {props.buckets.map((b, i) => (
          <g key={b.label}>
            <rect
              className="bar"
              x={pad.l + i * bw + 2}
              width={Math.max(1, bw - 4)}
              y={y(b.value)}
              height={h - pad.b - y(b.value)}
              rx={2}
            >
              <title>
                {b.label}: {b.value}
              </title>
            </rect>
            {n <= 16 || i % Math.ceil(n / 12) === 0 ? (
              <text x={pad.l + i * bw + bw / 2} y={h - 8} textAnchor="middle">
                {b.label}
              </text>
            ) : null}
          </g>
        ))}
      </svg>
      <figcaption className="muted small">{props.label}</figcaption>
    </figure>
  );
}
