// plot.tsx: one port's traffic plot (uPlot): serial bytes/s in and out, and connections open.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './traffic';

export function TrafficPlot({ series, title, id }: { series: Series; title: string; id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const width = Math.max(260, Math.min(560, el.clientWidth || 560));
    plot.current = new uPlot(
      {
        title,
        width,
        height: 180,
        series: [
          {},
          { label: 'from device B/s', stroke: '#0a5bbf', width: 2 },
          { label: 'to device B/s', stroke: '#b42318', width: 2 },
          { label: 'connections', stroke: '#137333', width: 1, scale: 'n' },
        ],
        axes: [{}, { scale: 'y' }, { scale: 'n', side: 1, grid: { show: false } }],
        scales: { n: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      [[], [], [], []],
      el,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([series.t, series.rx, series.tx, series.conns]);
  }, [series, series.t.length, series.t[series.t.length - 1]]);
  return <div class="plot" id={id} ref={box} role="img" aria-label={`${title}: traffic over the last minutes`} />;
}
