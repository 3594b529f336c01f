// schema.test.ts: forms from the API's schemas (docs/openapi.yaml, the real file) — fields, the
// checks with the API's ranges, the placing of the API's problems beside fields.
import { describe, expect, it } from 'vitest';
import { loadSchemas } from '../openapi-plugin';
import { check, problemsFor, Schemas, type Schema } from '../src/schema';

const s = new Schemas(loadSchemas() as Record<string, Schema>);

describe('fields from the API schemas', () => {
  it('lists every member of a mode with its range', () => {
    const f = s.fieldsOf('TcpServerMode', ['type']);
    const mc = f.find((x) => x.name === 'max_connections')!;
    expect(mc).toMatchObject({ kind: 'integer', min: 1, max: 8, default: 1 });
    expect(f.find((x) => x.name === 'delimiter_1')!.kind).toBe('byte');
    expect(f.find((x) => x.name === 'delimiter_process')!.choices).toContain('strip_delimiter');
    expect(f.map((x) => x.name)).not.toContain('type');
  });

  it('knows every operation mode, each with its own fields only', () => {
    const modes = s.variants('Mode');
    expect(modes).toEqual(expect.arrayContaining(['real_com', 'rfc2217', 'tcp_server', 'tcp_client', 'udp', 'pair_master', 'pair_slave', 'disabled']));
    expect(s.fieldsOf(s.variant('Mode', 'disabled')!, ['type'])).toEqual([]);
    const pm = s.fieldsOf(s.variant('Mode', 'pair_master')!, ['type']).map((x) => x.name);
    expect(pm).toContain('host');
    expect(pm).not.toContain('packing_length');
  });

  it('reads stop_bits as a choice of strings', () => {
    const sb = s.fieldsOf('SerialSettings').find((x) => x.name === 'stop_bits')!;
    expect(sb).toMatchObject({ kind: 'choice', choices: ['1', '1.5', '2'] });
  });
});

describe('check', () => {
  const f = s.fieldsOf('LoginSettings');
  const get = (n: string) => f.find((x) => x.name === n)!;

  it('refuses values outside the API range with the API wording', () => {
    expect(check(get('retry_failure_threshold'), '11')).toEqual([11, '11 is outside 1..10']);
    expect(check(get('retry_failure_threshold'), '10')).toEqual([10, null]);
    expect(check(get('retry_failure_threshold'), '2.5')[1]).toMatch(/whole number/);
    expect(check(get('retry_failure_threshold'), 'x')[1]).toMatch(/not a whole number/);
  });

  it('leaves an empty optional field out, so the API default applies', () => {
    expect(check(get('lockout_duration_min'), '')).toEqual([undefined, null]);
  });

  it('checks text length in characters', () => {
    expect(check(get('login_message'), 'é'.repeat(240))[1]).toBeNull();
    expect(check(get('login_message'), 'a'.repeat(241))[1]).toMatch(/longer than 240/);
  });

  it('checks bytes and choices', () => {
    const d = s.fieldsOf('TcpServerMode').find((x) => x.name === 'delimiter_1')!;
    expect(check(d, '0x0a')).toEqual(['0x0a', null]);
    expect(check(d, '10')[1]).toMatch(/not a byte/);
    const p = s.fieldsOf('SerialSettings').find((x) => x.name === 'parity')!;
    expect(check(p, 'odd')).toEqual(['odd', null]);
    expect(check(p, 'weird')[1]).toMatch(/not one of/);
  });

  it('checks lists', () => {
    const e = s.fieldsOf('AllowlistSettings').find((x) => x.name === 'entries')!;
    expect(check(e, ['10.0.0.0/8', '', ' 127.0.0.1 '])).toEqual([['10.0.0.0/8', '127.0.0.1'], null]);
    expect(check(e, Array.from({ length: 17 }, (_, i) => `10.0.0.${i}`))[1]).toBe('at most 16 entries');
  });
});

describe('problemsFor', () => {
  it('places problems under their field, any port index', () => {
    const by = problemsFor(
      [
        { path: 'ports[3].mode.max_connections', message: '9 is outside 1..8' },
        { path: 'ports[3].device', message: 'not allowed' },
        { path: 'system.listen_address', message: 'bad' },
      ],
      ['ports[*].'],
    );
    expect(by).toEqual({ 'mode.max_connections': '9 is outside 1..8', device: 'not allowed', '': 'bad' });
  });
  it('strips a section prefix', () => {
    expect(problemsFor([{ path: 'login.lockout_duration_min', message: 'x' }], ['login.'])).toEqual({ lockout_duration_min: 'x' });
  });
});
