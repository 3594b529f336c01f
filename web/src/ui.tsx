// ui.tsx: the pieces every page is made of — a labelled field bound to an API schema field, a
// form over an object schema (useSchemaForm + SchemaFields), an error line, a busy button. Each
// input has a <label>, its error is announced (aria-describedby, role=alert) beside it.
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { ApiError } from './api';
import { check, show, type Field } from './schema';
import { setDirty } from './dirty';

export type Draft = Record<string, string | boolean | string[]>;

export function label(name: string): string {
  const s = name.replace(/_/g, ' ').replace(/\bms\b/, '(ms)').replace(/\bmin\b/, '(min)').replace(/\bs\b$/, '(s)');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Form state over `fields` from the API's values; `collect` checks and builds the body. */
export function useSchemaForm(fields: Field[], values: Record<string, unknown> | null, key = '') {
  const initial = useMemo(() => {
    const d: Draft = {};
    for (const f of fields) d[f.name] = show(f, values?.[f.name]);
    return d;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [values, key, fields.map((f) => f.name).join()]);
  const [state, setState] = useState<{ base: Draft; draft: Draft }>({ base: initial, draft: initial });
  const [errors, setErrors] = useState<Record<string, string>>({});
  let draft = state.draft;
  if (state.base !== initial) {
    // New values from the API (or another item chosen): start over from them.
    draft = initial;
    setState({ base: initial, draft: initial });
    setErrors({});
  }
  const dirty = fields.some((f) => JSON.stringify(draft[f.name]) !== JSON.stringify(initial[f.name]));
  setDirty(key || 'form', dirty);
  return {
    draft,
    errors,
    dirty,
    setErrors,
    set(name: string, v: string | boolean | string[]) {
      setState((s) => ({ ...s, draft: { ...s.draft, [name]: v } }));
      setErrors((e) => {
        if (!e[name]) return e;
        const n = { ...e };
        delete n[name];
        return n;
      });
    },
    /** [body, ok]: the checked values (empty optional fields left out); errors set beside fields. */
    collect(): [Record<string, unknown>, boolean] {
      const body: Record<string, unknown> = {};
      const errs: Record<string, string> = {};
      for (const f of fields) {
        const [v, err] = check(f, draft[f.name]);
        if (err) errs[f.name] = err;
        if (v !== undefined) body[f.name] = v;
      }
      setErrors(errs);
      return [body, Object.keys(errs).length === 0];
    },
  };
}

export function SchemaFields(props: {
  id: string;
  fields: Field[];
  form: ReturnType<typeof useSchemaForm>;
  readOnly?: boolean;
  prefix?: string;
}) {
  const { fields, form, id, readOnly } = props;
  const pre = props.prefix ?? '';
  return (
    <div class="fields">
      {fields.map((f) => (
        <FieldInput key={f.name} id={`${id}-${f.name}`} field={f} value={form.draft[f.name]}
          error={form.errors[pre + f.name]} readOnly={readOnly} onInput={(v) => form.set(f.name, v)} />
      ))}
    </div>
  );
}

export function FieldInput(props: {
  id: string;
  field: Field;
  value: string | boolean | string[];
  error?: string;
  readOnly?: boolean;
  onInput(v: string | boolean | string[]): void;
}) {
  const { id, field: f, value, error, readOnly } = props;
  const errId = `${id}-error`;
  const helpId = `${id}-help`;
  const describedBy = [error ? errId : '', f.help ? helpId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: f.name,
    disabled: readOnly,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': describedBy,
  };
  let input;
  if (f.kind === 'boolean') {
    input = <input type="checkbox" {...common} checked={Boolean(value)} onChange={(e) => props.onInput((e.target as HTMLInputElement).checked)} />;
  } else if (f.kind === 'choice') {
    input = (
      <select {...common} value={String(value)} onChange={(e) => props.onInput((e.target as HTMLSelectElement).value)}>
        {!f.required && <option value="">(default{f.default !== undefined ? `: ${String(f.default)}` : ''})</option>}
        {f.choices!.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
    );
  } else if (f.kind === 'list') {
    input = <textarea {...common} rows={4} value={(value as string[]).join('\n')} onInput={(e) => props.onInput((e.target as HTMLTextAreaElement).value.split('\n'))} />;
  } else {
    const numeric = f.kind === 'integer' || f.kind === 'number';
    const placeholder = f.default !== undefined ? String(f.default) : f.kind === 'byte' ? 'off' : '';
    input = (
      <input type="text" inputMode={numeric ? 'numeric' : undefined} {...common} value={String(value)}
        placeholder={placeholder} onInput={(e) => props.onInput((e.target as HTMLInputElement).value)} />
    );
  }
  const range = f.min !== undefined || f.max !== undefined ? `${f.min ?? ''}..${f.max ?? ''}` : f.maxLength ? `≤ ${f.maxLength} characters` : '';
  return (
    <div class={`field field-${f.kind}${error ? ' has-error' : ''}`}>
      <label for={id}>{label(f.name)}{range && <span class="range"> ({range})</span>}</label>
      {input}
      {error && <p class="error" id={errId} role="alert" data-field={f.name}>{error}</p>}
      {f.help && <p class="help" id={helpId}>{f.help}</p>}
    </div>
  );
}

/** The message of an error for people; the API's message when it has one. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export function Notice(props: { kind: 'error' | 'ok' | 'info'; children: ComponentChildren }) {
  return <p class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>{props.children}</p>;
}

/** A button that shows progress while its action runs and cannot be pressed twice. */
export function Action(props: { onRun(): Promise<unknown>; children: ComponentChildren; busyText?: string; disabled?: boolean; kind?: string; id?: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" id={props.id} class={props.kind ?? ''} disabled={busy || props.disabled} aria-busy={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await props.onRun();
        } finally {
          setBusy(false);
        }
      }}>
      {busy ? (props.busyText ?? 'Working…') : props.children}
    </button>
  );
}

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={props.id ? `${props.id}-title` : undefined}>
      <h2 id={props.id ? `${props.id}-title` : undefined}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/**
 * A page's outcome line: `run(action, okText, after)` gives a click handler that runs the action,
 * says it worked (and calls `after`, e.g. a reload) or shows the API's error.
 */
export function useOutcome() {
  const [msg, setMsg] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const run = (what: () => Promise<unknown>, ok: string, after?: () => void) => async () => {
    setMsg(null);
    try {
      await what();
      setMsg({ kind: 'ok', text: ok });
      after?.();
    } catch (e) {
      setMsg({ kind: 'error', text: errorText(e) });
    }
  };
  return { msg, setMsg, run };
}

/** Offers `text` as a file download (no server round trip, no other origin). */
export function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
