// api.ts: the console's only way to the device — a small client of the REST API under /api/v1
// (docs/api.md). Same origin, the session cookie is sent by the browser, the CSRF token on every
// change. Two answers are handled here for every page: 401 `unauthenticated` (the session ended:
// the app shows the login and keeps the page) and 401 `reauth_required` (a sensitive action: the
// app asks for the password, POST /session/reauth, and the request is sent once more).

export type Problem = { path: string; message: string };

/** An error answer of the API: {"error": code, "message"?, "problems"?}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(message || code);
    this.name = 'ApiError';
  }
}

export interface ApiHooks {
  /** The session is gone (401 unauthenticated on a session route). */
  unauthenticated(): void;
  /** 401 reauth_required: ask for the password; true once POST /session/reauth succeeded. */
  reauthenticate(): Promise<boolean>;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Routes that answer without a session: their 401 is an answer, not a session that ended. */
const NO_SESSION = new Set(['/login', '/setup', '/identity', '/login-message', '/session', '/session/reauth']);

export class Api {
  csrf = '';
  hooks: ApiHooks = { unauthenticated() {}, reauthenticate: async () => false };

  constructor(
    private readonly fetchFn: FetchLike = (i, init) => fetch(i, init),
    readonly base = '/api/v1',
  ) {}

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  put<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  patch<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  del<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** One request; a reauth_required answer asks the user once and repeats the request. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.send<T>(method, path, body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && e.code === 'reauth_required') {
        if (await this.hooks.reauthenticate()) return this.send<T>(method, path, body);
      }
      throw e;
    }
  }

  /** The raw text of a GET (CSV, PEM), same error handling. */
  async text(path: string): Promise<string> {
    const res = await this.fetchFn(this.base + path, { method: 'GET', credentials: 'same-origin' });
    if (!res.ok) throw await this.error(res, path);
    return res.text();
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    const init: RequestInit = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await this.fetchFn(this.base + path, init);
    if (!res.ok) throw await this.error(res, path);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('Content-Type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
  }

  private async error(res: Response, path: string): Promise<ApiError> {
    let code = `http_${res.status}`;
    let message = '';
    let problems: Problem[] = [];
    try {
      const j = (await res.json()) as { error?: string; message?: string; problems?: Problem[] };
      code = j.error ?? code;
      message = j.message ?? '';
      problems = j.problems ?? [];
    } catch {
      /* not JSON: keep the status */
    }
    const ra = res.headers.get('Retry-After');
    const err = new ApiError(res.status, code, message || describe(code), problems, ra === null ? null : Number(ra));
    if (res.status === 401 && code === 'unauthenticated' && !NO_SESSION.has(path)) this.hooks.unauthenticated();
    return err;
  }
}

/** Words for the codes people meet in the console (docs/api.md "Errors"). */
export function describe(code: string): string {
  const words: Record<string, string> = {
    invalid_credentials: 'Wrong account name or password.',
    locked: 'This account is locked.',
    throttled: 'Too many failed logins from this address; wait a minute.',
    too_many_sessions: 'Too many sessions are open; log out elsewhere first.',
    forbidden: 'Your group may not do this.',
    reauth_required: 'Confirm your password to do this.',
    weak_password: 'The password does not meet the password policy.',
    same_password: 'The new password must differ from the current one.',
    wrong_password: 'The current password is wrong.',
    csrf: 'The request was refused (CSRF); reload the page.',
    busy: 'The device is busy; try again.',
    overloaded: 'The device is busy; try again.',
    too_many_requests: 'Too many requests; slow down.',
    invalid_config: 'Some values were refused.',
    would_lock_out: 'This change would lock you out.',
    not_found: 'Not found.',
    setup_done: 'An administrator exists already.',
  };
  return words[code] ?? code.replace(/_/g, ' ');
}
