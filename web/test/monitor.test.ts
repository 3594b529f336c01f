// monitor.test.ts: the serial monitor's buffer — decoding, the bounded ring, pause, filter, views.
import { describe, expect, it } from 'vitest';
import { hexView, MonitorBuffer, textView, timeOf, type DataMessage } from '../src/monitor';

const b64 = (s: string) => btoa(s);
const data = (frames: [('rx' | 'tx'), string][], lost = 0, ts = 1_700_000_000_000_000): DataMessage => ({
  type: 'data',
  frames: frames.map(([dir, s], i) => ({ dir, ts_us: ts + i, data: b64(s) })),
  lost_frames: lost,
  lost_bytes: lost * 10,
});
const text = (buf: MonitorBuffer) => buf.view().map((c) => `${c.dir}:${textView(c.bytes)}`);

describe('MonitorBuffer', () => {
  it('keeps both directions in order with their timestamps', () => {
    const m = new MonitorBuffer();
    m.add({ type: 'hello', port: 3, interval_ms: 50 });
    m.add(data([['tx', 'hello'], ['rx', 'hello']]));
    expect(m.port).toBe(3);
    expect(text(m)).toEqual(['tx:hello', 'rx:hello']);
    expect(m.view()[1].tsUs).toBe(1_700_000_000_000_001);
  });
  it('is bounded by bytes: the oldest chunks go first and are counted', () => {
    const m = new MonitorBuffer(10, 100);
    m.add(data([['rx', 'aaaa'], ['rx', 'bbbb'], ['rx', 'cccc']]));
    expect(text(m)).toEqual(['rx:bbbb', 'rx:cccc']);
    expect(m.size).toEqual({ chunks: 2, bytes: 8 });
    expect(m.evicted).toBe(1);
  });
  it('is bounded by chunks', () => {
    const m = new MonitorBuffer(1000, 2);
    m.add(data([['rx', 'a'], ['tx', 'b'], ['rx', 'c']]));
    expect(text(m)).toEqual(['tx:b', 'rx:c']);
  });
  it('keeps only the tail of a chunk larger than the whole buffer', () => {
    const m = new MonitorBuffer(4, 10);
    m.add(data([['rx', '0123456789']]));
    expect(text(m)).toEqual(['rx:6789']);
    expect(m.size.bytes).toBe(4);
  });
  it('shows the lost-frame totals the server reports', () => {
    const m = new MonitorBuffer();
    m.add(data([['rx', 'x']], 7));
    expect(m.lostFrames).toBe(7);
    expect(m.lostBytes).toBe(70);
    m.add(data([], 9));
    expect(m.lostFrames).toBe(9);
  });
  it('drops and counts what arrives while paused, keeps what it had', () => {
    const m = new MonitorBuffer();
    m.add(data([['rx', 'before']]));
    m.paused = true;
    m.add(data([['rx', 'during'], ['tx', 'during']]));
    m.paused = false;
    m.add(data([['tx', 'after']]));
    expect(text(m)).toEqual(['rx:before', 'tx:after']);
    expect(m.skipped).toBe(2);
  });
  it('filters by direction and by text or hex', () => {
    const m = new MonitorBuffer();
    m.add(data([['tx', 'AT+CSQ\r'], ['rx', 'OK\r\n'], ['rx', '\x01\x02']]));
    expect(m.view({ dir: 'rx', text: '' }).length).toBe(2);
    expect(m.view({ dir: 'both', text: 'csq' }).map((c) => c.dir)).toEqual(['tx']);
    expect(m.view({ dir: 'both', text: '01 02' }).map((c) => c.dir)).toEqual(['rx']);
    expect(m.view({ dir: 'tx', text: 'ok' })).toEqual([]);
  });
  it('clear empties the buffer', () => {
    const m = new MonitorBuffer();
    m.add(data([['rx', 'x']]));
    m.clear();
    expect(m.size).toEqual({ chunks: 0, bytes: 0 });
  });
});

describe('views', () => {
  const bytes = new Uint8Array([0x41, 0x0d, 0x0a, 0x00, 0xff, 0x5c, 0x09]);
  it('hex', () => expect(hexView(bytes)).toBe('41 0d 0a 00 ff 5c 09'));
  it('text escapes what is not printable', () => expect(textView(bytes)).toBe('A\\r\\n\\x00\\xff\\\\\\t'));
  it('time has microseconds', () => expect(timeOf(1_700_000_000_123_456)).toMatch(/^\d\d:\d\d:\d\d\.123456$/));
});
