// api.test.ts: the console's API client — CSRF header, error decoding, the re-authentication
// prompt and retry, and the session-ended hook.
import { describe, expect, it } from 'vitest';
import { Api, ApiError } from '../src/api';

type Call = { url: string; init: RequestInit };

function fake(answers: Array<[number, unknown, Record<string, string>?]>) {
  const calls: Call[] = [];
  const fn = async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    const [status, body, headers] = answers.shift() ?? [500, { error: 'no answer left' }];
    return new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', ...(headers ?? {}) },
    });
  };
  return { calls, fn };
}

describe('Api', () => {
  it('sends the CSRF token on changes only, and JSON bodies', async () => {
    const f = fake([[200, { a: 1 }], [200, { changed: true }]]);
    const api = new Api(f.fn);
    api.csrf = 'tok';
    expect(await api.get('/status')).toEqual({ a: 1 });
    await api.put('/login-settings', { x: 1 });
    expect((f.calls[0].init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    const h = f.calls[1].init.headers as Record<string, string>;
    expect(h['X-CSRF-Token']).toBe('tok');
    expect(h['Content-Type']).toBe('application/json');
    expect(f.calls[1].init.body).toBe('{"x":1}');
    expect(f.calls[1].url).toBe('/api/v1/login-settings');
  });

  it('asks for the password on reauth_required and sends the request once more', async () => {
    const f = fake([[401, { error: 'reauth_required' }], [200, { changed: true, revision: 3 }]]);
    const api = new Api(f.fn);
    let asked = 0;
    api.hooks.reauthenticate = async () => {
      asked++;
      return true;
    };
    expect(await api.put('/allowlist', { enabled: false })).toEqual({ changed: true, revision: 3 });
    expect(asked).toBe(1);
    expect(f.calls.length).toBe(2);
    expect(f.calls[1].init.body).toBe(f.calls[0].init.body);
  });

  it('gives up when the user cancels the prompt, and never loops', async () => {
    const f = fake([[401, { error: 'reauth_required' }]]);
    const api = new Api(f.fn);
    api.hooks.reauthenticate = async () => false;
    await expect(api.put('/allowlist', {})).rejects.toMatchObject({ code: 'reauth_required' });
    expect(f.calls.length).toBe(1);

    const g = fake([[401, { error: 'reauth_required' }], [401, { error: 'reauth_required' }]]);
    const api2 = new Api(g.fn);
    api2.hooks.reauthenticate = async () => true;
    await expect(api2.put('/allowlist', {})).rejects.toMatchObject({ code: 'reauth_required' });
    expect(g.calls.length).toBe(2);
  });

  it('reports an ended session, but not a failed login', async () => {
    const f = fake([[401, { error: 'unauthenticated' }], [401, { error: 'invalid_credentials', message: 'Go away' }]]);
    const api = new Api(f.fn);
    let ended = 0;
    api.hooks.unauthenticated = () => ended++;
    await expect(api.get('/status')).rejects.toBeInstanceOf(ApiError);
    expect(ended).toBe(1);
    await expect(api.post('/login', {})).rejects.toMatchObject({ code: 'invalid_credentials', message: 'Go away' });
    expect(ended).toBe(1);
  });

  it('decodes problems and Retry-After', async () => {
    const problems = [{ path: 'ports[0].mode.max_connections', message: '9 is outside 1..8' }];
    const f = fake([[400, { error: 'invalid_config', problems }], [423, { error: 'locked' }, { 'Retry-After': '297' }]]);
    const api = new Api(f.fn);
    const e1 = (await api.put("/ports/1", {}).catch((e: unknown) => e)) as ApiError;
    expect(e1.problems).toEqual(problems);
    expect(e1.status).toBe(400);
    const e2 = (await api.post("/login", {}).catch((e: unknown) => e)) as ApiError;
    expect(e2.retryAfter).toBe(297);
    expect(e2.code).toBe('locked');
  });

  it('returns nothing for 204', async () => {
    const f = fake([[204, null]]);
    expect(await new Api(f.fn).post('/logout')).toBeUndefined();
  });
});
