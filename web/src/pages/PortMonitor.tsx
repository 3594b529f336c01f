// PortMonitor.tsx: Diagnostics → Port monitor (issue 13 item 4): the live serial monitor of one
// port over the WebSocket GET /api/v1/ports/{n}/monitor/ws (same origin; the browser sends the
// session cookie and its Origin). Both directions with timestamps, hex or text, pause, a
// direction/text filter, a bounded buffer (monitor.ts: the newest 64 KiB), and the frames the
// server reports lost because this browser did not keep up.
import { useEffect, useRef, useState } from 'preact/hooks';
import { hexView, MonitorBuffer, textView, timeOf, type MonitorFilter, type MonitorMessage } from '../monitor';
import { Section } from '../ui';

/** Rows drawn at most (the newest); the buffer itself keeps up to 64 KiB. */
const MAX_ROWS = 500;

export function PortMonitor() {
  const [port, setPort] = useState('1');
  const [state, setState] = useState<'stopped' | 'connecting' | 'open' | string>('stopped');
  const [hex, setHex] = useState(false);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState<MonitorFilter>({ dir: 'both', text: '' });
  const [, setTick] = useState(0);
  const buf = useRef(new MonitorBuffer());
  const ws = useRef<WebSocket | null>(null);

  const stop = () => {
    ws.current?.close();
    ws.current = null;
  };
  useEffect(() => stop, []);  // leaving the page ends the monitor session

  const start = () => {
    stop();
    buf.current = new MonitorBuffer();
    buf.current.paused = paused;
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1) {
      setState('error: the port is a number from 1');
      return;
    }
    const sock = new WebSocket(`wss://${location.host}/api/v1/ports/${n}/monitor/ws`);
    ws.current = sock;
    setState('connecting');
    sock.onopen = () => setState('open');
    sock.onmessage = (e) => {
      try {
        buf.current.add(JSON.parse(String(e.data)) as MonitorMessage);
      } catch {
        return;
      }
      setTick((t) => t + 1);
    };
    sock.onclose = (e) => {
      if (ws.current !== sock) return;
      ws.current = null;
      setState(e.code === 4001 ? `closed: ${e.reason || 'the session ended'} (log in again)`
        : e.code === 1006 ? 'closed: refused or the connection was lost (privilege, port, or too many monitors)'
          : `closed${e.reason ? ': ' + e.reason : ''}`);
    };
  };

  const togglePause = () => {
    buf.current.paused = !paused;
    setPaused(!paused);
  };
  const rows = buf.current.view(filter).slice(-MAX_ROWS);
  const b = buf.current;
  return (
    <Section title="Port monitor" id="monitor">
      <form class="filters" id="monitor-controls" onSubmit={(e) => { e.preventDefault(); start(); }}>
        <div class="field"><label for="m-port">Port</label>
          <input id="m-port" inputMode="numeric" value={port} onInput={(e) => setPort((e.target as HTMLInputElement).value)} /></div>
        <button type="submit" id="m-start">{ws.current ? 'Restart' : 'Start'}</button>
        <button type="button" id="m-stop" disabled={!ws.current} onClick={() => { stop(); setState('stopped'); }}>Stop</button>
        <button type="button" id="m-pause" aria-pressed={paused} onClick={togglePause}>{paused ? 'Resume' : 'Pause'}</button>
        <button type="button" id="m-clear" onClick={() => { b.clear(); setTick((t) => t + 1); }}>Clear</button>
        <div class="field"><label for="m-view">View</label>
          <select id="m-view" value={hex ? 'hex' : 'text'} onChange={(e) => setHex((e.target as HTMLSelectElement).value === 'hex')}>
            <option value="text">text</option><option value="hex">hex</option>
          </select></div>
        <div class="field"><label for="m-dir">Direction</label>
          <select id="m-dir" value={filter.dir} onChange={(e) => setFilter({ ...filter, dir: (e.target as HTMLSelectElement).value as MonitorFilter['dir'] })}>
            <option value="both">both</option><option value="rx">rx (from the line)</option><option value="tx">tx (to the line)</option>
          </select></div>
        <div class="field"><label for="m-filter">Filter</label>
          <input id="m-filter" value={filter.text} onInput={(e) => setFilter({ ...filter, text: (e.target as HTMLInputElement).value })} /></div>
      </form>
      <p role="status" id="m-status">
        Monitor {state}{b.port ? ` (port ${b.port})` : ''}; {b.size.chunks} chunks, {b.size.bytes} bytes kept
        {'; '}<span id="m-lost">{b.lostFrames}</span> frames lost ({b.lostBytes} bytes: this browser did not keep up)
        {b.skipped > 0 && `; ${b.skipped} skipped while paused`}
      </p>
      <div class="table-wrap">
        <table id="monitor-table" class="monitor">
          <thead><tr><th scope="col">Time</th><th scope="col">Dir</th><th scope="col">Bytes</th><th scope="col">{hex ? 'Hex' : 'Text'}</th></tr></thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.seq} class={`dir-${c.dir}`}>
                <td><time>{timeOf(c.tsUs)}</time></td>
                <td>{c.dir}</td>
                <td>{c.bytes.length}</td>
                <td class="mono">{hex ? hexView(c.bytes) : textView(c.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
