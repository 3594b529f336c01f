// Diagnostics.tsx: the event log — filters by category, severity, port and type (the API's) and
// by time (here, on what the API returned), 50 a page, CSV export of the same filter; and which
// event types are recorded (event-log settings); the live port monitor (PortMonitor.tsx).
import { useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../context';
import { usePoll } from '../poll';
import { Action, errorText, Notice, Section } from '../ui';
import type { Event } from './Overview';
import { PortMonitor } from './PortMonitor';

type EventType = { type: string; category: string; severity: string; title: string; enabled: boolean };
export const PAGE_SIZE = 50;

export type Filter = { category: string; severity: string; port: string; type: string; from: string; to: string };

/** The API's query for a filter (time is applied here, not by the API). */
export function eventQuery(f: Filter, limit: number): string {
  const q = new URLSearchParams();
  if (f.category) q.set('category', f.category);
  if (f.severity) q.set('severity', f.severity);
  if (f.port) q.set('port', f.port);
  if (f.type) q.set('type', f.type);
  if (limit) q.set('limit', String(limit));
  return q.toString();
}

/** Events within [from, to] (datetime-local values, the browser's time zone). */
export function inTime(events: Event[], from: string, to: string): Event[] {
  const a = from ? new Date(from).getTime() : -Infinity;
  const b = to ? new Date(to).getTime() : Infinity;
  return events.filter((e) => {
    const t = new Date(e.time).getTime();
    return t >= a && t <= b;
  });
}

export function Diagnostics({ api, writable }: PageProps) {
  const [filter, setFilter] = useState<Filter>({ category: '', severity: '', port: '', type: '', from: '', to: '' });
  const [applied, setApplied] = useState(filter);
  const [page, setPage] = useState(0);
  const types = usePoll(() => api.get<EventType[]>('/event-log/types'), 0);
  const events = usePoll(() => api.get<Event[]>(`/events?${eventQuery(applied, 10000)}`), 0, [eventQuery(applied, 0)]);
  // Newest first, as the device's log view.
  const shown = useMemo(() => inTime(events.data ?? [], applied.from, applied.to).reverse(), [events.data, applied]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const rows = shown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const set = (k: keyof Filter) => (e: Event | globalThis.Event) => setFilter({ ...filter, [k]: ((e as globalThis.Event).target as HTMLInputElement).value });
  return (
    <>
      <Section title="Event log" id="log">
        <form class="filters" id="event-filter" onSubmit={(e) => { e.preventDefault(); setApplied(filter); setPage(0); }}>
          <div class="field"><label for="f-category">Category</label>
            <select id="f-category" value={filter.category} onChange={set('category')}>
              <option value="">all</option>{['system', 'network', 'security', 'maintenance', 'serial'].map((c) => <option key={c}>{c}</option>)}
            </select></div>
          <div class="field"><label for="f-severity">Severity (and worse)</label>
            <select id="f-severity" value={filter.severity} onChange={set('severity')}>
              <option value="">all</option>{['error', 'warning', 'notice', 'informational'].map((c) => <option key={c}>{c}</option>)}
            </select></div>
          <div class="field"><label for="f-port">Port</label>
            <input id="f-port" inputMode="numeric" value={filter.port} onInput={set('port')} /></div>
          <div class="field"><label for="f-type">Type</label>
            <select id="f-type" value={filter.type} onChange={set('type')}>
              <option value="">all</option>{(types.data ?? []).map((t) => <option key={t.type} value={t.type}>{t.type}</option>)}
            </select></div>
          <div class="field"><label for="f-from">From</label><input id="f-from" type="datetime-local" value={filter.from} onInput={set('from')} /></div>
          <div class="field"><label for="f-to">To</label><input id="f-to" type="datetime-local" value={filter.to} onInput={set('to')} /></div>
          <button type="submit">Apply</button>
          <a class="button" id="csv" href={`/api/v1/events.csv?${eventQuery(applied, 0)}`} download="events.csv">Export CSV</a>
        </form>
        {events.error && <Notice kind="error">{events.error}</Notice>}
        <p role="status">{shown.length} event{shown.length === 1 ? '' : 's'}; page {page + 1} of {pages}</p>
        <div class="table-wrap">
          <table id="event-table">
            <thead><tr><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Type</th><th scope="col">Port</th><th scope="col">Account</th><th scope="col">Source</th><th scope="col">Message</th></tr></thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} class={`sev-${e.severity.toLowerCase()}`}>
                  <td><time dateTime={e.time}>{e.time.replace('T', ' ').replace(/\..*$/, '')}</time></td>
                  <td>{e.severity}</td><td>{e.type}</td><td>{e.port ?? ''}</td><td>{e.account}</td><td>{e.source}</td><td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="pager">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>Newer</button>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Older</button>
        </div>
      </Section>
      <EventTypes api={api} writable={writable} types={types.data ?? []} reload={types.reload} />
      <PortMonitor />
    </>
  );
}

function EventTypes({ api, writable, types, reload }: { api: PageProps['api']; writable: boolean; types: EventType[]; reload(): void }) {
  const [on, setOn] = useState<Record<string, boolean>>({});
  const [msg, setMsg] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const value = (t: EventType) => on[t.type] ?? t.enabled;
  return (
    <Section title="Recorded event types" id="types">
      <details>
        <summary>Choose which event types are recorded</summary>
        <ul class="type-list">
          {types.map((t) => (
            <li key={t.type}>
              <input type="checkbox" id={`t-${t.type}`} checked={value(t)} disabled={!writable}
                onChange={(e) => setOn({ ...on, [t.type]: (e.target as HTMLInputElement).checked })} />
              <label for={`t-${t.type}`}>{t.type} <span class="sub">{t.title} ({t.severity})</span></label>
            </li>
          ))}
        </ul>
        {writable && <Action onRun={async () => {
          setMsg(null);
          try {
            const cur = await api.get<{ types?: Record<string, boolean> }>('/event-log/settings');
            await api.put('/event-log/settings', { types: { ...(cur.types ?? {}), ...on } });
            setOn({});
            setMsg({ kind: 'ok', text: 'Saved.' });
            reload();
          } catch (e) {
            setMsg({ kind: 'error', text: errorText(e) });
          }
        }}>Save event types</Action>}
        {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      </details>
    </Section>
  );
}
