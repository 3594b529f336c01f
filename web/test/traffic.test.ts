// traffic.test.ts: rates from counters, bounded history, restarts and removed ports.
import { describe, expect, it } from 'vitest';
import { TrafficHistory } from '../src/traffic';

const s = (n: number, rx: number, tx: number, peers = 0) => ({ number: n, serial_rx_bytes: rx, serial_tx_bytes: tx, peers });

describe('TrafficHistory', () => {
  it('turns counters into bytes per second', () => {
    const h = new TrafficHistory();
    h.add([s(1, 0, 0)], 0);
    h.add([s(1, 2000, 500, 2)], 2000);
    expect(h.get(1)).toEqual({ t: [2], rx: [1000], tx: [250], conns: [2] });
  });
  it('keeps only the newest samples', () => {
    const h = new TrafficHistory(3);
    for (let i = 0; i <= 10; i++) h.add([s(1, i * 100, 0)], i * 1000);
    expect(h.get(1).t).toEqual([8, 9, 10]);
    expect(h.get(1).rx).toEqual([100, 100, 100]);
  });
  it('a counter that goes down (port restarted) gives 0, not a negative rate', () => {
    const h = new TrafficHistory();
    h.add([s(1, 5000, 0)], 0);
    h.add([s(1, 10, 0)], 1000);
    expect(h.get(1).rx).toEqual([0]);
  });
  it('forgets a removed port', () => {
    const h = new TrafficHistory();
    h.add([s(1, 0, 0), s(2, 0, 0)], 0);
    h.add([s(1, 1, 1), s(2, 1, 1)], 1000);
    h.add([s(1, 2, 2)], 2000);
    expect(h.get(2).t).toEqual([]);
    expect(h.get(1).t.length).toBe(2);
  });
});
