// Security.tsx: login settings (lockout, login message), the HTTPS certificate (view, import from
// files, regenerate, download), the IP allowlist, and the DoS bounds with their counters; the
// serial DoS bounds, Remote Device Certificates and network services (SecurityMore.tsx).
import type { PageProps } from '../context';
import { usePoll } from '../poll';
import { SectionForm } from '../section-form';
import { Action, download, Notice, Section, useOutcome } from '../ui';
import { Lazy, RemoteCertificates, SerialDos, Services } from './SecurityMore';

type Cert = {
  source: string; subject: string; issuer: string; serial: string; not_before: string; not_after: string;
  fingerprint_sha256: string; key_type: string; san: string[]; chain_length: number;
};

export function Security({ api, writable }: PageProps) {
  return (
    <>
      <Section title="Login settings" id="login">
        <SectionForm api={api} id="login-settings" path="/login-settings" schema="LoginSettings" section="login" writable={writable} />
      </Section>
      <Certificate api={api} writable={writable} />
      <Section title="IP allowlist" id="allow">
        <p>Off: every source may connect. On: only the entries below, on every listener (HTTPS and every port).</p>
        <SectionForm api={api} id="allowlist" path="/allowlist" schema="AllowlistSettings" section="allowlist" writable={writable} />
      </Section>
      <Section title="DoS defense" id="dos">
        <SectionForm api={api} id="dos-settings" path="/https" schema="DosSettings" section="https" sub="dos." writable={writable}
          pick={(h) => (h.dos ?? {}) as Record<string, unknown>} body={(v, h) => ({ ...h, dos: v })} />
        <DosCounters api={api} />
      </Section>
      <Lazy title="Serial port DoS defense" id="serial-dos">{() => <SerialDos api={api} writable={writable} />}</Lazy>
      <Lazy title="Remote Device Certificates" id="remote-ca">{() => <RemoteCertificates api={api} writable={writable} />}</Lazy>
      <Lazy title="Network services" id="services">{() => <Services api={api} />}</Lazy>
    </>
  );
}

function readFile(input: HTMLInputElement | null): Promise<string> {
  const f = input?.files?.[0];
  if (!f) return Promise.reject(new Error('Choose a file first.'));
  return f.text();
}

function Certificate({ api, writable }: { api: PageProps['api']; writable: boolean }) {
  const cert = usePoll(() => api.get<Cert>('/certificate'), 0);
  const c = cert.data;
  const outcome = useOutcome();
  const msg = outcome.msg;
  const run = (what: () => Promise<unknown>, ok: string) => outcome.run(what, ok, cert.reload);
  return (
    <Section title="Certificate" id="cert">
      {cert.error && <Notice kind="error">{cert.error}</Notice>}
      {c && (
        <dl class="facts" id="cert-info">
          <dt>Source</dt><dd>{c.source === 'system' ? 'self-signed by SerialGate' : 'imported'}</dd>
          <dt>Subject</dt><dd>{c.subject}</dd>
          <dt>Issuer</dt><dd>{c.issuer}</dd>
          <dt>Valid</dt><dd>{c.not_before} to {c.not_after}</dd>
          <dt>Key</dt><dd>{c.key_type}</dd>
          <dt>Names</dt><dd>{c.san.join(', ')}</dd>
          <dt>SHA-256</dt><dd class="mono">{c.fingerprint_sha256}</dd>
        </dl>
      )}
      <Action id="cert-download" onRun={async () => download('serialgate.pem', await api.text('/certificate/pem'), 'application/x-pem-file')}>Download certificate</Action>
      {writable && (
        <>
          <h3>Import a certificate</h3>
          <div class="field">
            <label for="cert-file">Certificate (PEM, the leaf first, then its chain)</label>
            <input type="file" id="cert-file" accept=".pem,.crt,.cer" />
          </div>
          <div class="field">
            <label for="key-file">Private key (PEM, unencrypted)</label>
            <input type="file" id="key-file" accept=".pem,.key" />
          </div>
          <Action id="cert-import" busyText="Importing…" onRun={run(async () => {
            const certificate = await readFile(document.getElementById('cert-file') as HTMLInputElement);
            const private_key = await readFile(document.getElementById('key-file') as HTMLInputElement);
            await api.put('/certificate', { certificate, private_key });
          }, 'Imported; new connections use it.')}>Import</Action>
          <Action id="cert-regenerate" busyText="Generating…" onRun={run(() => api.post('/certificate/regenerate'), 'A new self-signed certificate is in force.')}>
            Regenerate self-signed
          </Action>
        </>
      )}
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
    </Section>
  );
}

type Counters = Record<string, number | Record<string, number | Record<string, number>>>;

function DosCounters({ api }: { api: PageProps['api'] }) {
  const c = usePoll(() => api.get<Counters>('/system/dos'), 5000);
  const rows: [string, number][] = [];
  const walk = (o: unknown, pre: string) => {
    if (typeof o === 'number') rows.push([pre, o]);
    else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) walk(v, pre ? `${pre}.${k}` : k);
  };
  walk(c.data, '');
  return (
    <>
      <h3>Counters since start</h3>
      {c.error && <Notice kind="error">{c.error}</Notice>}
      <div class="table-wrap">
        <table id="dos-counters"><tbody>
          {rows.map(([k, v]) => <tr key={k}><th scope="row">{k.replace(/_/g, ' ')}</th><td class="num">{v}</td></tr>)}
        </tbody></table>
      </div>
    </>
  );
}
