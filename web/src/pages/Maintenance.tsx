// Maintenance.tsx: the whole configuration — export as a file (GET /config, logged as
// maintenance.config_exported) and import from a file (PUT /config) with each refused value
// listed by its path.
import { useState } from 'preact/hooks';
import { ApiError, type Problem } from '../api';
import type { PageProps } from '../context';
import { Action, download, errorText, Notice, Section } from '../ui';

export function Maintenance({ api, writable }: PageProps) {
  const [msg, setMsg] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [progress, setProgress] = useState('');
  const doImport = async () => {
    setMsg(null);
    setProblems([]);
    const f = (document.getElementById('import-file') as HTMLInputElement).files?.[0];
    if (!f) return setMsg({ kind: 'error', text: 'Choose a file first.' });
    setProgress('Reading the file…');
    let doc: unknown;
    try {
      doc = JSON.parse(await f.text());
    } catch (e) {
      setProgress('');
      return setMsg({ kind: 'error', text: `${f.name} is not a JSON configuration export: ${errorText(e)}` });
    }
    setProgress('Checking and applying…');
    try {
      const r = await api.put<{ changed: boolean; revision?: number }>('/config', doc);
      setMsg({ kind: 'ok', text: r.changed ? `Imported (revision ${r.revision}).` : 'Nothing changed: the file equals the configuration in force.' });
    } catch (e) {
      if (e instanceof ApiError) setProblems(e.problems);
      setMsg({ kind: 'error', text: `Not imported; nothing changed. ${errorText(e)}` });
    } finally {
      setProgress('');
    }
  };
  return (
    <>
      <Section title="Export the configuration" id="export">
        <p>The whole configuration as a JSON file (what <code>serialgate config export</code> prints). Secrets are not in it.</p>
        <Action id="export" busyText="Exporting…" onRun={async () => {
          try {
            const doc = await api.get('/config');
            download('serialgate-config.json', JSON.stringify(doc, null, 2) + '\n', 'application/json');
          } catch (e) {
            setMsg({ kind: 'error', text: errorText(e) });
          }
        }}>Download configuration</Action>
      </Section>
      {writable && (
        <Section title="Import a configuration" id="import">
          <p>Replaces the whole configuration. It is checked whole first: a refused file changes nothing.</p>
          <div class="field">
            <label for="import-file">Configuration file (JSON)</label>
            <input type="file" id="import-file" accept=".json,application/json" />
          </div>
          <Action id="import" busyText="Importing…" onRun={doImport}>Import</Action>
          {progress && <p role="status" class="progress">{progress}</p>}
        </Section>
      )}
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      {problems.length > 0 && (
        <ul class="problems" id="import-problems">
          {problems.map((p) => <li key={p.path}><code>{p.path}</code>: {p.message}</li>)}
        </ul>
      )}
    </>
  );
}
