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
    const width = Math.floor(el.clientWidth) || 300;
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
    // The plot follows its box (a narrow screen, a rotated phone, a resized window).
    const fit = new ResizeObserver(() => {
      const w = Math.floor(el.clientWidth);
      if (plot.current && w > 0 && Math.abs(w - plot.current.width) > 1) plot.current.setSize({ width: w, height: 180 });
    });
    fit.observe(el);
    return () => {
      fit.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([series.t, series.rx, series.tx, series.conns]);
  }, [series, series.t.length, series.t[series.t.length - 1]]);
  const n = series.t.length;
  return (
    <div class="plot" id={id} ref={box} role="img" aria-label={`${title}: traffic over the last minutes`}
      data-samples={n} data-last-rx={n ? Math.round(series.rx[n - 1]) : 0} data-last-tx={n ? Math.round(series.tx[n - 1]) : 0} />
  );
}
