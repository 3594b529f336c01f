// SecurityMore.tsx: the Security page's sections for the API routes that came after the page —
// Remote Device Certificates (GET/POST /remote-certificates, DELETE /remote-certificates/{fp}),
// the network services and what each is bound to (GET /services), and the data plane's DoS bounds
// (GET/PUT /serial-dos). Same pattern as Security.tsx: read and write through the API only.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../context';
import { usePoll } from '../poll';
import { SectionForm } from '../section-form';
import { Action, Notice, Section, useOutcome } from '../ui';

/** A section whose content (and its requests) starts only once opened: the Security page already
 * loads six things at once, and each more would be another parallel connection of the browser
 * against the device's per-source TLS handshake rate (NE-5). */
export function Lazy(props: { title: string; id: string; children: () => ComponentChildren }) {
  const [open, setOpen] = useState(false);
  return (
    <Section title={props.title} id={props.id}>
      <details id={`${props.id}-open`} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
        <summary>Show {props.title.toLowerCase()}</summary>
        {open && props.children()}
      </details>
    </Section>
  );
}

type RemoteCa = {
  subject: string; issuer: string; serial: string; not_before: string; not_after: string;
  fingerprint_sha256: string; key_type: string; status: string; expired: boolean; expiring: boolean;
};

export function RemoteCertificates({ api, writable }: { api: PageProps['api']; writable: boolean }) {
  const list = usePoll(() => api.get<{ certificates: RemoteCa[]; max: number }>('/remote-certificates'), 0);
  const outcome = useOutcome();
  const run = (what: () => Promise<unknown>, ok: string) => outcome.run(what, ok, list.reload);
  const cas = list.data?.certificates ?? [];
  return (
    <>
      <p>CA certificates a peer of an <code>encrypted_authenticated</code> port must chain to, and that the device's TLS clients trust
        {list.data ? ` (at most ${list.data.max})` : ''}.</p>
      {list.error && <Notice kind="error">{list.error}</Notice>}
      <div class="table-wrap">
        <table id="remote-ca-table">
          <thead><tr><th scope="col">Subject</th><th scope="col">Valid until</th><th scope="col">Status</th><th scope="col">SHA-256</th>{writable && <th scope="col">Action</th>}</tr></thead>
          <tbody>
            {cas.map((c) => (
              <tr key={c.fingerprint_sha256}>
                <td>{c.subject}</td><td>{c.not_after}</td>
                <td class={c.expired || c.expiring ? 'sev-warning' : ''}>{c.status}</td>
                <td class="mono">{c.fingerprint_sha256}</td>
                {writable && <td><Action onRun={run(() => api.del(`/remote-certificates/${encodeURIComponent(c.fingerprint_sha256)}`), `Removed ${c.subject}.`)}>Remove</Action></td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cas.length === 0 && list.data && <p id="remote-ca-empty">No CA certificate: authenticated peers cannot be verified.</p>}
      {writable && (
        <>
          <div class="field">
            <label for="remote-ca-file">Add CA certificates (PEM, one or more)</label>
            <input type="file" id="remote-ca-file" accept=".pem,.crt,.cer" />
          </div>
          <Action id="remote-ca-add" busyText="Adding…" onRun={run(async () => {
            const f = (document.getElementById('remote-ca-file') as HTMLInputElement | null)?.files?.[0];
            if (!f) throw new Error('Choose a file first.');
            await api.post('/remote-certificates', { certificates: await f.text() });
          }, 'Added; new connections use the list.')}>Add</Action>
        </>
      )}
      {outcome.msg && <Notice kind={outcome.msg.kind}>{outcome.msg.text}</Notice>}
    </>
  );
}

type Service = {
  name: string; transport: string; enabled: boolean; port: number; listen_address: string; state: string;
  bound: string[]; serial_port?: number; mode?: string; listener?: string;
};

export function Services({ api }: { api: PageProps['api'] }) {
  const s = usePoll(() => api.get<{ services: Service[]; unexpected: { transport: string; bound: string }[] }>('/services'), 10000);
  const rows = s.data?.services ?? [];
  return (
    <>
      <p>Every network service of the configuration, its switch and the sockets SerialGate holds for it now.</p>
      {s.error && <Notice kind="error">{s.error}</Notice>}
      <div class="table-wrap">
        <table id="services-table">
          <thead><tr><th scope="col">Service</th><th scope="col">Transport</th><th scope="col">Port</th><th scope="col">State</th><th scope="col">Bound</th></tr></thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={`${r.name}-${r.serial_port ?? 0}-${r.listener ?? ''}-${i}`}>
                <td>{r.name === 'serial' ? `serial port ${r.serial_port} (${r.mode}${r.listener ? ', ' + r.listener : ''})` : r.name}</td>
                <td>{r.transport}</td><td class="num">{r.port || ''}</td><td>{r.state}</td>
                <td class="mono">{r.bound.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {(s.data?.unexpected.length ?? 0) > 0 && (
        <Notice kind="error">Sockets that belong to no service: {s.data!.unexpected.map((u) => `${u.transport} ${u.bound}`).join(', ')}</Notice>
      )}
    </>
  );
}

export function SerialDos({ api, writable }: { api: PageProps['api']; writable: boolean }) {
  return (
    <>
      <p>Per source address and serial port: connections held and opened, TLS handshakes and UDP datagrams. In force at once.</p>
      <SectionForm api={api} id="serial-dos-settings" path="/serial-dos" schema="SerialDosSettings" section="serial_dos" writable={writable} />
    </>
  );
}
