// section-form.tsx: one configuration section as a form — GET it, show every member of its schema,
// PUT it back whole (docs/api.md: PUT replaces the section) and show the API's field errors. The
// pattern of most settings pages: <SectionForm api path="/login-settings" schema="LoginSettings"
// section="login" />.
import { useMemo, useState } from 'preact/hooks';
import { ApiError, type Api } from './api';
import { usePoll } from './poll';
import { problemsFor } from './schema';
import { schemas } from './schemas';
import { Action, errorText, Notice, SchemaFields, useSchemaForm } from './ui';

export function SectionForm(props: {
  api: Api;
  id: string;
  path: string;
  schema: string;
  /** The section's key in the whole configuration, for the problems' paths ("login"). */
  section: string;
  writable: boolean;
  skip?: string[];
  /** Builds the PUT body from the checked values and what GET gave (default: the values). */
  body?(values: Record<string, unknown>, loaded: Record<string, unknown>): unknown;
  /** Picks the form's values out of what GET gave (default: all of it). */
  pick?(loaded: Record<string, unknown>): Record<string, unknown>;
  /** The schema path of the form's values under the section, for the problems ("dos."). */
  sub?: string;
}) {
  const loaded = usePoll(() => props.api.get<Record<string, unknown>>(props.path), 0, [props.path]);
  const fields = schemas.fieldsOf(props.schema, props.skip);
  // Memoized: a new object would reset the form (useSchemaForm starts over on new values).
  const values = useMemo(() => (loaded.data ? (props.pick ? props.pick(loaded.data) : loaded.data) : null), [loaded.data]);
  const form = useSchemaForm(fields, values, props.id);
  const [msg, setMsg] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const save = async () => {
    setMsg(null);
    const [v, ok] = form.collect();
    if (!ok) return setMsg({ kind: 'error', text: 'Some values are not valid; see the fields marked.' });
    try {
      const r = await props.api.put<{ changed?: boolean; restart_required?: boolean }>(
        props.path, props.body ? props.body(v, loaded.data ?? {}) : v);
      // The form takes the saved state before "Saved" shows: a reload arriving after it would
      // reset the form and silently drop what the user typed meanwhile.
      try {
        loaded.setData(await props.api.get<Record<string, unknown>>(props.path));
      } catch {
        loaded.reload();
      }
      setMsg({ kind: 'ok', text: r?.restart_required ? 'Saved; in force at the next start of SerialGate.' : 'Saved.' });
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) {
        const pre = `${props.section}.${props.sub ?? ''}`;
        const by = problemsFor(e.problems, [pre]);
        form.setErrors(by);
        const other = by[''];
        setMsg({ kind: 'error', text: other ? `${e.message} ${other}` : e.message });
      } else {
        setMsg({ kind: 'error', text: errorText(e) });
      }
    }
  };
  if (loaded.error && !loaded.data) return <Notice kind="error">{loaded.error}</Notice>;
  if (!loaded.data) return <p>Loading…</p>;
  return (
    <form onSubmit={(e) => { e.preventDefault(); void save(); }} id={props.id}>
      <SchemaFields id={props.id} fields={fields} form={form} readOnly={!props.writable} />
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      {props.writable && <Action onRun={save} busyText="Saving…" id={`${props.id}-save`}>Save</Action>}
    </form>
  );
}
