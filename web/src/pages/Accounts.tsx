// Accounts.tsx: Account Management — accounts (create, group, enable/disable, unlock, reset the
// password, delete), groups with the privilege matrix, and the password policy.
import { useState } from 'preact/hooks';
import type { PageProps } from '../context';
import { usePoll } from '../poll';
import { SectionForm } from '../section-form';
import { Action, errorText, Notice, Section, useOutcome } from '../ui';
import type { Access, Area, Privileges } from './registry';

type Account = { name: string; group: string; active: boolean; must_change_password: boolean; locked: boolean; locked_until?: string };
type Group = { name: string; builtin: boolean; privileges: Privileges };
const AREAS: Area[] = ['overview', 'system', 'network', 'serial', 'security', 'accounts', 'diagnostics', 'maintenance', 'administration'];
const ACCESS: Access[] = ['hidden', 'read_only', 'read_write'];

export function Accounts({ api, writable, session }: PageProps) {
  const accounts = usePoll(() => api.get<Account[]>('/accounts'), 0);
  const groups = usePoll(() => api.get<Group[]>('/groups'), 0);
  const { msg, run } = useOutcome();
  const act = (what: () => Promise<unknown>, ok: string) => run(what, ok, () => {
    accounts.reload();
    groups.reload();
  });
  const groupNames = (groups.data ?? []).map((g) => g.name);
  return (
    <>
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      <Section title="Accounts" id="accounts">
        {accounts.error && <Notice kind="error">{accounts.error}</Notice>}
        <div class="table-wrap">
          <table id="account-table">
            <thead><tr><th scope="col">Name</th><th scope="col">Group</th><th scope="col">State</th>{writable && <th scope="col">Actions</th>}</tr></thead>
            <tbody>
              {(accounts.data ?? []).map((a) => (
                <tr key={a.name} data-account={a.name}>
                  <th scope="row">{a.name}{a.name === session.account ? ' (you)' : ''}</th>
                  <td>{writable ? (
                    <select aria-label={`Group of ${a.name}`} value={a.group}
                      onChange={(e) => act(() => api.patch(`/accounts/${encodeURIComponent(a.name)}`, { group: (e.target as HTMLSelectElement).value }), `${a.name}'s group changed.`)()}>
                      {groupNames.map((g) => <option key={g}>{g}</option>)}
                    </select>
                  ) : a.group}</td>
                  <td>{a.active ? 'active' : 'disabled'}{a.locked ? `, locked${a.locked_until ? ` until ${a.locked_until}` : ''}` : ''}{a.must_change_password ? ', must change password' : ''}</td>
                  {writable && (
                    <td class="actions">
                      <Action onRun={act(() => api.patch(`/accounts/${encodeURIComponent(a.name)}`, { active: !a.active }), `${a.name} ${a.active ? 'disabled' : 'enabled'}.`)}>{a.active ? 'Disable' : 'Enable'}</Action>
                      {a.locked && <Action onRun={act(() => api.post(`/accounts/${encodeURIComponent(a.name)}/unlock`), `${a.name} unlocked.`)}>Unlock</Action>}
                      <Action onRun={act(async () => {
                        const pw = prompt(`New password for ${a.name} (they must change it at the next login):`);
                        if (pw) await api.put(`/accounts/${encodeURIComponent(a.name)}/password`, { password: pw });
                      }, `${a.name}'s password was reset.`)}>Reset password</Action>
                      <Action onRun={act(async () => {
                        if (confirm(`Delete the account ${a.name}?`)) await api.del(`/accounts/${encodeURIComponent(a.name)}`);
                      }, `${a.name} deleted.`)}>Delete</Action>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {writable && <NewAccount api={api} groups={groupNames} created={() => accounts.reload()} />}
      </Section>
      <Section title="Groups" id="groups">
        {(groups.data ?? []).map((g) => <GroupForm key={g.name} api={api} group={g} writable={writable && !g.builtin} saved={() => groups.reload()} />)}
        {writable && <NewGroup api={api} created={() => groups.reload()} />}
      </Section>
      <Section title="Password policy" id="policy">
        <SectionForm api={api} id="password-policy" path="/password-policy" schema="PasswordPolicy" section="password_policy" writable={writable} />
      </Section>
    </>
  );
}

function NewAccount({ api, groups, created }: { api: PageProps['api']; groups: string[]; created(): void }) {
  const [name, setName] = useState('');
  const [group, setGroup] = useState('Operator');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const create = async () => {
    setError('');
    try {
      await api.post('/accounts', { name, group, password });
      setName('');
      setPassword('');
      created();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form class="inline-form" id="new-account" onSubmit={(e) => { e.preventDefault(); void create(); }}>
      <h3>New account</h3>
      <label for="na-name">Name</label>
      <input id="na-name" value={name} maxLength={32} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <label for="na-group">Group</label>
      <select id="na-group" value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
        {groups.map((g) => <option key={g}>{g}</option>)}
      </select>
      <label for="na-password">Initial password</label>
      <input id="na-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      {error && <Notice kind="error">{error}</Notice>}
      <Action onRun={create} id="na-create" busyText="Creating…">Create account</Action>
    </form>
  );
}

function Matrix(props: { id: string; privileges: Privileges; readOnly: boolean; onChange(p: Privileges): void }) {
  return (
    <div class="table-wrap">
      <table class="matrix" id={props.id}>
        <thead><tr><th scope="col">Area</th>{ACCESS.map((a) => <th scope="col" key={a}>{a.replace('_', ' ')}</th>)}</tr></thead>
        <tbody>
          {AREAS.map((area) => (
            <tr key={area}>
              <th scope="row">{area}</th>
              {ACCESS.map((a) => (
                <td key={a}>
                  <input type="radio" name={`${props.id}-${area}`} aria-label={`${area}: ${a.replace('_', ' ')}`} disabled={props.readOnly}
                    checked={(props.privileges[area] ?? 'hidden') === a} onChange={() => props.onChange({ ...props.privileges, [area]: a })} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function GroupForm({ api, group, writable, saved }: { api: PageProps['api']; group: Group; writable: boolean; saved(): void }) {
  const [priv, setPriv] = useState(group.privileges);
  const [msg, setMsg] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const id = `group-${group.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <details class="group">
      <summary>{group.name}{group.builtin ? ' (built in)' : ''}</summary>
      <Matrix id={id} privileges={priv} readOnly={!writable} onChange={setPriv} />
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      {writable && (
        <>
          <Action onRun={async () => {
            try {
              await api.put(`/groups/${encodeURIComponent(group.name)}`, { privileges: priv });
              setMsg({ kind: 'ok', text: 'Saved.' });
              saved();
            } catch (e) {
              setMsg({ kind: 'error', text: errorText(e) });
            }
          }}>Save group</Action>
          <Action onRun={async () => {
            try {
              if (confirm(`Delete the group ${group.name}?`)) {
                await api.del(`/groups/${encodeURIComponent(group.name)}`);
                saved();
              }
            } catch (e) {
              setMsg({ kind: 'error', text: errorText(e) });
            }
          }}>Delete group</Action>
        </>
      )}
    </details>
  );
}

function NewGroup({ api, created }: { api: PageProps['api']; created(): void }) {
  const [name, setName] = useState('');
  const [priv, setPriv] = useState<Privileges>({ overview: 'read_only' });
  const [error, setError] = useState('');
  return (
    <form class="inline-form" id="new-group" onSubmit={(e) => e.preventDefault()}>
      <h3>New group</h3>
      <label for="ng-name">Name</label>
      <input id="ng-name" value={name} maxLength={32} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <Matrix id="ng-matrix" privileges={priv} readOnly={false} onChange={setPriv} />
      {error && <Notice kind="error">{error}</Notice>}
      <Action onRun={async () => {
        setError('');
        try {
          await api.put(`/groups/${encodeURIComponent(name)}`, { privileges: priv });
          setName('');
          created();
        } catch (e) {
          setError(errorText(e));
        }
      }}>Create group</Action>
    </form>
  );
}
