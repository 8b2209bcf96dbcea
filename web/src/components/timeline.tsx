import type { Service } from '../api/types.ts';
import { fmtTime } from './format.ts';

/**
 * Each port of a host as a bar from first to last sighting on one time axis; the colour is the state.
 * A keyboard and screen-reader user gets the same facts from the table beside it.
 */
export function ServiceTimeline(props: { services: Service[] }) {
  const rows = [...props.services].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  if (rows.length === 0) return null;
  const times = rows
    .flatMap((s) => [new Date(s.first_seen).getTime(), new Date(s.last_seen).getTime()])
    .filter((t) => !Number.isNaN(t));
  let t0 = Math.min(...times);
  let t1 = Math.max(...times, Date.now());
  if (t1 - t0 < 3600_000) t0 = t1 - 3600_000;
  const span = t1 - t0;
  t0 -= span * 0.02;
  t1 += span * 0.02;
  const w = 900;
  const labelW = 90;
  // Every source that saw any port gets a colour; each port shows its overall span and, below it,
  // one thin line per source from that source's first to last sighting.
  const sources = [...new Set(rows.flatMap((r) => r.sources ?? []))].sort();
  const perSource = (s: Service) => (s.sources ?? []).filter((src) => s.source_details?.[src]);
  const rowH = 20 + Math.max(0, ...rows.map((r) => perSource(r).length)) * 4;
  const h = rows.length * rowH + 30;
  const x = (t: number) => labelW + ((w - labelW - 10) * (t - t0)) / (t1 - t0);
  const ticks = Array.from({ length: 5 }, (_, i) => t0 + ((t1 - t0) * i) / 4);
  return (
    <figure className="timeline" style={{ margin: 0 }}>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`Timeline of ${rows.length} ports from first to last sighting`}
      >
        {ticks.map((t, i) => (
          <g key={t}>
            <line className="tick" x1={x(t)} x2={x(t)} y1={0} y2={h - 18} />
            <text
              x={x(t)}
              y={h - 4}
              textAnchor={i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}
            >
              {new Date(t).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}{' '}
              {new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}
            </text>
          </g>
        ))}
        {rows.map((s, i) => {
          const a = x(new Date(s.first_seen).getTime());
          const b = x(new Date(s.last_seen).getTime());
          const y = i * rowH + 4;
          return (
            <g key={`${s.protocol}${s.port}`}>
              <text x={labelW - 8} y={y + 11} textAnchor="end" style={{ fontSize: 11 }}>
                {s.port}/{s.protocol}
              </text>
              <rect
                className={`span ${s.state}`}
                x={a}
                y={y + 2}
                width={Math.max(4, b - a)}
                height={12}
                rx={3}
              >
                <title>
                  {s.port}/{s.protocol} {s.state}: first seen {fmtTime(s.first_seen)}, last seen{' '}
                  {fmtTime(s.last_seen)}; sources {(s.sources ?? []).join(', ')}
                </title>
              </rect>
              {perSource(s).map((src, k) => {
                const d = s.source_details![src]!;
                const sa = x(new Date(d.first_seen).getTime());
                const sb = x(new Date(d.last_seen).getTime());
                return (
                  <rect
                    key={src}
                    className={`source source-${sources.indexOf(src) % 6}`}
                    x={sa}
                    y={y + 16 + k * 4}
                    width={Math.max(3, sb - sa)}
                    height={3}
                  >
                    <title>
                      {src}: {fmtTime(d.first_seen)} – {fmtTime(d.last_seen)}, {d.observations}× {d.evidence}
                    </title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      {sources.length > 0 ? (
        <figcaption className="small muted legend">
          Bars: first to last sighting (colour: state). Lines below: each source —{' '}
          {sources.map((src, i) => (
            <span key={src} className="legend-item">
              <span className={`swatch source-${i % 6}`} aria-hidden="true" /> {src}
            </span>
          ))}
        </figcaption>
      ) : null}
    </figure>
  );
}
