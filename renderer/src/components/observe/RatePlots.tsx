// Live plots on the Counters tab (uPlot): instructions per second, exits / interrupts / shadow
// page faults per second, and hypercalls per second by number, over the last minutes. Drag to
// zoom, double-click to zoom out; Pause freezes the picture while the data keeps coming. Each plot
// states what it shows in data- attributes (points, last x, the x range, zoomed, series) for tests.

import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RatePoint } from './machine-watch';
import { useMachineRates } from './machine-watch';

const COLORS = ['#2f7ed8', '#d9534f', '#5cb85c', '#f0ad4e', '#8e44ad', '#16a085', '#7f8c8d', '#c0392b', '#2c3e50'];

/** A readable rate: 12.3M, 4.5k, 67. */
export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

interface Series {
  label: string;
  value: (p: RatePoint) => number;
}

const TRAP_PF = 14;
const TRAP_GP = 13;
const TRAP_NM = 7;

const EXIT_SERIES: Series[] = [
  { label: '#PF exits', value: (p) => p.r.rates.exitsPerSecond[TRAP_PF] ?? 0 },
  { label: '#GP exits', value: (p) => p.r.rates.exitsPerSecond[TRAP_GP] ?? 0 },
  { label: '#NM exits', value: (p) => p.r.rates.exitsPerSecond[TRAP_NM] ?? 0 },
  {
    label: 'other exits',
    value: (p) =>
      Object.entries(p.r.rates.exitsPerSecond)
        .filter(([v]) => ![TRAP_PF, TRAP_GP, TRAP_NM].includes(Number(v)))
        .reduce((n, [, x]) => n + x, 0),
  },
  { label: 'time slices', value: (p) => p.r.rates.sliceExitsPerSecond },
  { label: 'irqs injected', value: (p) => p.r.rates.irqsPerSecond },
  { label: 'shadow faults fixed', value: (p) => p.r.rates.demandPagedPerSecond },
];

function hypercallSeries(points: RatePoint[], names: readonly string[]): Series[] {
  const used = new Set<number>();
  for (const p of points) {
    const h = p.r.rates.hypercallsPerSecond;
    h.sync.forEach((n, i) => n + (h.ring[i] ?? 0) > 0 && used.add(i));
  }
  return [...used]
    .sort((a, b) => a - b)
    .map((i) => ({
      label: names[i] ?? `hypercall ${i}`,
      value: (p: RatePoint) =>
        (p.r.rates.hypercallsPerSecond.sync[i] ?? 0) + (p.r.rates.hypercallsPerSecond.ring[i] ?? 0),
    }));
}

function Plot({
  title,
  points,
  series,
  paused,
  testid,
}: {
  title: string;
  points: RatePoint[];
  series: Series[];
  paused: boolean;
  testid: string;
}) {
  const card = useRef<HTMLElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomed = useRef(false);
  const labels = series.map((s) => s.label).join('|');
  const data = useMemo<uPlot.AlignedData>(
    () => [points.map((p) => p.t), ...series.map((s) => points.map((p) => s.value(p)))],
    [points, series],
  );
  const dataRef = useRef(data);
  dataRef.current = data;

  // (Re)build the chart only when its set of series changes (`labels`); keep it sized to its box.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const describe = (u: uPlot) => {
      const d = card.current?.dataset;
      if (!d) return;
      const xs = u.data[0];
      d.points = String(xs.length);
      d.lastX = String(xs.at(-1) ?? '');
      d.xMin = String(u.scales.x?.min ?? '');
      d.xMax = String(u.scales.x?.max ?? '');
      d.zoomed = String(zoomed.current);
      d.series = String(u.series.length - 1);
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length]!, width: 1.5 }))],
      axes: [{}, { values: (_u, ticks) => ticks.map(formatRate), size: 60 }],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [() => (zoomed.current = true)],
        setData: [(u) => describe(u)],
        setScale: [(u) => describe(u)],
      },
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    // Zooming out keeps the data shown: a paused plot stays frozen.
    const zoomOut = () => {
      zoomed.current = false;
      u.setData(u.data, true);
    };
    u.over.addEventListener('dblclick', zoomOut);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.over.removeEventListener('dblclick', zoomOut);
      u.destroy();
      plot.current = null;
    };
  }, [labels]);

  useEffect(() => {
    if (!paused) plot.current?.setData(data, !zoomed.current);
  }, [data, paused]);

  return (
    <section ref={card} className="card wide plot-card" data-testid={testid}>
      <h3>{title}</h3>
      <div ref={box} className="plot-box" />
    </section>
  );
}

/** `hypercallNames`: the host's name of each hypercall number (from the counters inspector). */
export function RatePlots({ id, hypercallNames }: { id: string; hypercallNames: readonly string[] }) {
  const live = useMachineRates(id);
  // Paused, the plots are built from the points of that moment: newer ones wait for Resume, and
  // so does a hypercall number seen for the first time (a new series rebuilds its chart).
  const [frozen, setFrozen] = useState<RatePoint[] | null>(null);
  const paused = frozen !== null;
  const points = frozen ?? live;
  const [minutes, setMinutes] = useState(5);
  const shown = useMemo(() => {
    const since = Date.now() / 1000 - minutes * 60;
    return points.filter((p) => p.t >= since);
  }, [points, minutes]);
  const hcalls = useMemo(() => hypercallSeries(shown, hypercallNames), [shown, hypercallNames]);
  const last = live.at(-1);
  const peak = shown.reduce((m, p) => Math.max(m, p.r.rates.instructionsPerSecond), 0);
  return (
    <div className="rate-plots">
      <div className="plot-tools">
        <button className="button small" onClick={() => setFrozen(paused ? null : live)} data-testid="plots-pause">
          {paused ? '▶ Resume plots' : '⏸ Pause plots'}
        </button>
        <label className="small">
          last{' '}
          <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            {[1, 5, 10].map((m) => (
              <option key={m} value={m}>
                {m} min
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">drag across a plot to zoom, double-click to zoom out</span>
        <span className="spacer" />
        <span className="mono small" data-testid="ips-now">
          {last ? `${formatRate(last.r.rates.instructionsPerSecond)} instr/s now` : 'waiting for the first interval'}
        </span>
        <span className="mono small muted" data-testid="ips-peak">
          peak {formatRate(peak)}
        </span>
      </div>
      <Plot
        title="Guest instructions per second"
        points={shown}
        series={INSTRUCTION_SERIES}
        paused={paused}
        testid="plot-instructions"
      />
      <Plot
        title="Exits, interrupts and shadow page faults per second"
        points={shown}
        series={EXIT_SERIES}
        paused={paused}
        testid="plot-exits"
      />
      <Plot
        title="Hypercalls per second by number (synchronous and ring)"
        points={shown}
        series={hcalls}
        paused={paused}
        testid="plot-hypercalls"
      />
    </div>
  );
}

const INSTRUCTION_SERIES: Series[] = [{ label: 'instructions/s', value: (p) => p.r.rates.instructionsPerSecond }];
