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
  const rowH = 20;
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
                height={rowH - 8}
                rx={3}
              >
                <title>
                  {s.port}/{s.protocol} {s.state}: first seen {fmtTime(s.first_seen)}, last seen{' '}
                  {fmtTime(s.last_seen)}; sources {(s.sources ?? []).join(', ')}
                </title>
              </rect>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
