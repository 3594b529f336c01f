// traffic.ts: per-port traffic over the last minutes from successive GET /status answers —
// bytes/s each way on the serial side (from the byte counters' differences) and the connections
// open — in a bounded history (the newest `capacity` samples per port) for the Overview's plots.

export type PortSample = { number: number; serial_rx_bytes: number; serial_tx_bytes: number; peers: number };
export type Series = { t: number[]; rx: number[]; tx: number[]; conns: number[] };

export class TrafficHistory {
  private last = new Map<number, { t: number; rx: number; tx: number }>();
  private series = new Map<number, Series>();

  constructor(readonly capacity = 150) {}

  /** One /status answer at time `tMs`; a counter that went down (a port restart) restarts its rate. */
  add(ports: PortSample[], tMs: number) {
    const seen = new Set<number>();
    for (const p of ports) {
      seen.add(p.number);
      const prev = this.last.get(p.number);
      this.last.set(p.number, { t: tMs, rx: p.serial_rx_bytes, tx: p.serial_tx_bytes });
      if (!prev || tMs <= prev.t) continue;
      const dt = (tMs - prev.t) / 1000;
      const rate = (now: number, before: number) => (now >= before ? (now - before) / dt : 0);
      const s = this.series.get(p.number) ?? { t: [], rx: [], tx: [], conns: [] };
      s.t.push(tMs / 1000);
      s.rx.push(rate(p.serial_rx_bytes, prev.rx));
      s.tx.push(rate(p.serial_tx_bytes, prev.tx));
      s.conns.push(p.peers);
      if (s.t.length > this.capacity) {
        const cut = s.t.length - this.capacity;
        s.t.splice(0, cut);
        s.rx.splice(0, cut);
        s.tx.splice(0, cut);
        s.conns.splice(0, cut);
      }
      this.series.set(p.number, s);
    }
    for (const n of [...this.last.keys()]) {
      if (!seen.has(n)) {
        this.last.delete(n);
        this.series.delete(n);
      }
    }
  }

  get(port: number): Series {
    return this.series.get(port) ?? { t: [], rx: [], tx: [], conns: [] };
  }
}
