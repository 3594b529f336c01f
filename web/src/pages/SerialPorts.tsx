// SerialPorts.tsx: Serial Port Settings — per port its alias, device, serial line and operation
// mode with every parameter of the chosen mode (and only those), all from the API's schemas
// (Port, SerialSettings, the Mode variants). Saved with PUT /ports/{n}; a refused value shows the
// API's message beside its field.
import { useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api';
import type { PageProps } from '../context';
import { usePoll } from '../poll';
import { problemsFor, type Field } from '../schema';
import { schemas } from '../schemas';
import { Action, errorText, FieldInput, label, Notice, SchemaFields, Section, useSchemaForm } from '../ui';

const NONE: Record<string, unknown> = {};

type Port = { port: number; alias?: string; device: string; serial?: Record<string, unknown>; mode?: Record<string, unknown> };
type Row = Record<string, string>;

const MODE_NAMES: Record<string, string> = {
  real_com: 'Real COM', rfc2217: 'RFC 2217', tcp_server: 'TCP Server', tcp_client: 'TCP Client',
  udp: 'UDP', pair_master: 'Pair Connection master', pair_slave: 'Pair Connection slave', disabled: 'Disabled',
};

export function SerialPorts({ api, writable, arg }: PageProps) {
  const ports = usePoll(() => api.get<Port[]>('/ports'), 0);
  const list = ports.data ?? [];
  const chosen = Number(arg) || list[0]?.port || 0;
  const port = list.find((p) => p.port === chosen) ?? null;
  return (
    <>
      {ports.error && <Notice kind="error">{ports.error}</Notice>}
      <nav class="tabs" aria-label="Ports">
        {list.map((p) => (
          <a key={p.port} href={`#/serial/${p.port}`} aria-current={p.port === chosen ? 'page' : undefined}>
            Port {p.port}{p.alias ? ` (${p.alias})` : ''}
          </a>
        ))}
      </nav>
      {ports.data && !port && <p>{list.length === 0 ? 'No port is configured.' : `There is no port ${arg}.`}</p>}
      {port && <PortForm key={port.port} api={api} port={port} writable={writable} saved={ports.reload} />}
    </>
  );
}

function PortForm({ api, port, writable, saved }: { api: PageProps['api']; port: Port; writable: boolean; saved(): void }) {
  const [type, setType] = useState(String(port.mode?.type ?? 'real_com'));
  const topFields = useMemo(() => schemas.fieldsOf('Port', ['port', 'serial', 'mode']), []);
  const serialFields = useMemo(() => schemas.fieldsOf('SerialSettings'), []);
  const modeSchema = schemas.variant('Mode', type)!;
  const allMode = useMemo(() => schemas.fieldsOf(modeSchema, ['type']), [modeSchema]);
  const modeFields = allMode.filter((f) => !isObjectList(modeSchema, f));
  const listFields = allMode.filter((f) => isObjectList(modeSchema, f));
  const top = useSchemaForm(topFields, port as unknown as Record<string, unknown>, `port${port.port}-top`);
  const serial = useSchemaForm(serialFields, port.serial ?? NONE, `port${port.port}-serial`);
  const modeValues = port.mode?.type === type ? port.mode : NONE;
  const mode = useSchemaForm(modeFields, modeValues, `port${port.port}-mode-${type}`);
  const [rows, setRows] = useState<Record<string, Row[]>>({});
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [msg, setMsg] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const id = `p${port.port}`;

  const rowsOf = (f: Field): Row[] =>
    rows[`${type}.${f.name}`] ??
    ((modeValues?.[f.name] as Record<string, unknown>[] | undefined) ?? []).map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));

  const save = async () => {
    setMsg(null);
    const [t, ok1] = top.collect();
    const [s, ok2] = serial.collect();
    const [m, ok3] = mode.collect();
    const body: Record<string, unknown> = { ...t, serial: s, mode: { type, ...m } };
    for (const f of listFields) {
      const itemFields = schemas.fieldsOf(itemSchemaName(modeSchema, f.name));
      (body.mode as Record<string, unknown>)[f.name] = rowsOf(f).map((r) => {
        const o: Record<string, unknown> = {};
        for (const inf of itemFields) {
          const txt = (r[inf.name] ?? '').trim();
          if (txt !== '') o[inf.name] = inf.kind === 'integer' ? Number(txt) : txt;
        }
        return o;
      });
    }
    if (!(ok1 && ok2 && ok3)) {
      setMsg({ kind: 'error', text: 'Some values are not valid; see the fields marked.' });
      return;
    }
    try {
      await api.put(`/ports/${port.port}`, body);
      setMsg({ kind: 'ok', text: 'Saved.' });
      saved();
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) {
        const byPath = problemsFor(e.problems, ['ports[*].']);
        const pick = (pre: string) => Object.fromEntries(Object.entries(byPath).filter(([k]) => k.startsWith(pre) && !k.slice(pre.length).includes('.') && !k.slice(pre.length).includes('[')).map(([k, v]) => [k.slice(pre.length), v]));
        top.setErrors(Object.fromEntries(Object.entries(byPath).filter(([k]) => k && !k.includes('.'))));
        serial.setErrors(pick('serial.'));
        mode.setErrors(pick('mode.'));
        setRowErrors(Object.fromEntries(Object.entries(byPath).filter(([k]) => /^mode\.[a-z_]+\[/.test(k))));
        const other = Object.entries(byPath).filter(([k]) => !k.startsWith('serial.') && !k.startsWith('mode.') && (k === '' || k.includes('.')));
        setMsg({ kind: 'error', text: [e.message, ...other.map(([, v]) => v)].join(' ') });
      } else {
        setMsg({ kind: 'error', text: errorText(e) });
      }
    }
  };

  return (
    <form class="port-form" onSubmit={(e) => { e.preventDefault(); void save(); }} aria-label={`Port ${port.port}`}>
      <Section title={`Port ${port.port}`} id={`${id}-general`}>
        <SchemaFields id={`${id}`} fields={topFields} form={top} readOnly={!writable} />
      </Section>
      <Section title="Serial parameters" id={`${id}-serial`}>
        <SchemaFields id={`${id}-serial`} fields={serialFields} form={serial} readOnly={!writable} />
      </Section>
      <Section title="Operation mode" id={`${id}-mode`}>
        <div class="field">
          <label for={`${id}-mode-type`}>Mode</label>
          <select id={`${id}-mode-type`} value={type} disabled={!writable} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {schemas.variants('Mode').map((v) => <option key={v} value={v}>{MODE_NAMES[v] ?? v}</option>)}
          </select>
        </div>
        <SchemaFields id={`${id}-mode`} fields={modeFields} form={mode} readOnly={!writable} />
        {listFields.map((f) => (
          <ObjectList key={`${type}.${f.name}`} id={`${id}-mode-${f.name}`} name={f.name} max={f.maxItems ?? 4}
            itemFields={schemas.fieldsOf(itemSchemaName(modeSchema, f.name))} rows={rowsOf(f)} readOnly={!writable}
            errors={Object.fromEntries(Object.entries(rowErrors).filter(([k]) => k.startsWith(`mode.${f.name}[`)).map(([k, v]) => [k.slice(`mode.${f.name}`.length), v]))}
            onChange={(r) => setRows({ ...rows, [`${type}.${f.name}`]: r })} />
        ))}
      </Section>
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      {writable && <Action onRun={save} busyText="Saving…" id="save-port">Save</Action>}
    </form>
  );
}

// An array of objects (TCP Client's and UDP's destinations): a small table of rows.
function isObjectList(modeSchema: string, f: Field): boolean {
  if (f.kind !== 'list') return false;
  const items = schemas.deref(schemas.get(modeSchema).properties![f.name]).items;
  return Boolean(items && schemas.deref(items).type === 'object');
}

// The item schema of an object list, registered under a synthetic name for fieldsOf().
function itemSchemaName(modeSchema: string, name: string): string {
  return schemas.register(`${modeSchema}.${name}[]`, schemas.deref(schemas.get(modeSchema).properties![name]).items!);
}

function ObjectList(props: {
  id: string; name: string; max: number; itemFields: Field[]; rows: Row[]; readOnly: boolean;
  errors: Record<string, string>; onChange(r: Row[]): void;
}) {
  const { id, rows, itemFields } = props;
  return (
    <fieldset class="object-list" id={id}>
      <legend>{label(props.name)} (at most {props.max})</legend>
      {rows.map((r, i) => (
        <div class="row" key={i}>
          {itemFields.map((f) => (
            <FieldInput key={f.name} id={`${id}-${i}-${f.name}`} field={f} value={r[f.name] ?? ''} readOnly={props.readOnly}
              error={props.errors[`[${i}].${f.name}`]}
              onInput={(v) => props.onChange(rows.map((x, j) => (j === i ? { ...x, [f.name]: String(v) } : x)))} />
          ))}
          {!props.readOnly && <button type="button" onClick={() => props.onChange(rows.filter((_, j) => j !== i))} aria-label={`Remove ${props.name} ${i + 1}`}>Remove</button>}
        </div>
      ))}
      {Object.entries(props.errors).filter(([k]) => !itemFields.some((f) => k.endsWith(`.${f.name}`))).map(([k, v]) => <p class="error" role="alert" key={k}>{v}</p>)}
      {!props.readOnly && rows.length < props.max && <button type="button" onClick={() => props.onChange([...rows, {}])}>Add {props.name.replace(/s$/, '')}</button>}
    </fieldset>
  );
}
