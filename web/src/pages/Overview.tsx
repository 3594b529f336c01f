// Overview.tsx: every port with its mode, state, peers and byte counts (GET /status, every 2 s),
// and the newest events when the session may read Diagnostics.
import { useRef } from 'preact/hooks';
import type { PageProps } from '../context';
import { TrafficPlot } from '../plot';
import { usePoll } from '../poll';
import { TrafficHistory } from '../traffic';
import { Notice, Section } from '../ui';

type PortStatus = {
  number: number; alias: string; device: string; mode: string; state: string; mode_state?: string;
  counters: null | { serial_rx_bytes: number; serial_tx_bytes: number; net_rx_bytes: number; net_tx_bytes: number; connections: number };
  peers: { address: string; connected_at: string; tx_bytes: number; rx_bytes: number }[];
};
type Status = { device_name: string; data_plane: string; time: string; ports: PortStatus[] };
export type Event = {
  id: number; time: string; type: string; category: string; severity: string;
  port: number | null; account: string; source: string; message: string;
};

export function Overview({ api, session }: PageProps) {
  const history = useRef(new TrafficHistory());
  const status = usePoll(async () => {
    const st = await api.get<Status>('/status');
    history.current.add(st.ports.map((p) => ({
      number: p.number, serial_rx_bytes: p.counters?.serial_rx_bytes ?? 0,
      serial_tx_bytes: p.counters?.serial_tx_bytes ?? 0, peers: p.peers.length,
    })), Date.now());
    return st;
  }, 2000);
  const diag = (session.privileges.diagnostics ?? 'hidden') !== 'hidden';
  const events = usePoll(() => (diag ? api.get<Event[]>('/events?limit=10') : Promise.resolve([])), 5000);
  const s = status.data;
  return (
    <>
      {status.error && <Notice kind="error">{status.error}</Notice>}
      {s && s.data_plane === 'off' && <Notice kind="info">The data plane is off: no port listens until the first administrator exists.</Notice>}
      <Section title="Ports" id="ports">
        {!s ? <p>Loading…</p> : s.ports.length === 0 ? <p>No port is configured.</p> : (
          <div class="table-wrap">
            <table id="port-table">
              <thead>
                <tr><th scope="col">Port</th><th scope="col">Mode</th><th scope="col">State</th><th scope="col">Peers</th>
                  <th scope="col">Serial in / out</th><th scope="col">Network in / out</th></tr>
              </thead>
              <tbody>
                {s.ports.map((p) => (
                  <tr key={p.number} data-port={p.number}>
                    <th scope="row"><a href={`#/serial/${p.number}`}>{p.number}{p.alias ? ` ${p.alias}` : ''}</a><div class="sub">{p.device}</div></th>
                    <td>{p.mode}</td>
                    <td>{p.state}{p.mode_state ? <div class="sub">{p.mode_state}</div> : null}</td>
                    <td>{p.peers.length === 0 ? '—' : p.peers.map((x) => <div key={x.address}>{x.address}</div>)}</td>
                    <td class="num">{bytes(p.counters?.serial_rx_bytes)} / {bytes(p.counters?.serial_tx_bytes)}</td>
                    <td class="num">{bytes(p.counters?.net_rx_bytes)} / {bytes(p.counters?.net_tx_bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {s && s.ports.length > 0 && (
        <Section title="Traffic" id="traffic">
          <div class="plots">
            {s.ports.map((p) => (
              <TrafficPlot key={p.number} id={`plot-${p.number}`} title={`Port ${p.number}${p.alias ? ` ${p.alias}` : ''}`}
                series={{ ...history.current.get(p.number) }} />
            ))}
          </div>
        </Section>
      )}
      {diag && (
        <Section title="Recent events" id="recent">
          {events.error && <Notice kind="error">{events.error}</Notice>}
          <ul class="events">
            {[...(events.data ?? [])].reverse().map((e) => (
              <li key={e.id} class={`sev-${e.severity.toLowerCase()}`}>
                <time dateTime={e.time}>{e.time.replace('T', ' ').replace(/\..*$/, '')}</time> <strong>{e.type}</strong> {e.message}
              </li>
            ))}
          </ul>
          <a href="#/diagnostics">All events</a>
        </Section>
      )}
    </>
  );
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
