// app.tsx: the console's shell — first run (Create account), login with the login message and the
// lockout's time left, the forced password change and the expiry reminder, the re-authentication
// prompt that lets a refused sensitive action go through, the menu from the session's privileges
// and the hash router (#/serial/2) that keeps the page across a session expiry.
import { render } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Api, ApiError } from './api';
import type { SessionInfo } from './context';
import { anyDirty, clearDirty } from './dirty';
import { canSee, canWrite, pages, visiblePages } from './pages/registry';
import { errorText, Notice } from './ui';

type Identity = { device_name: string; model: string; version: string; setup_required: boolean };

export function parseRoute(hash: string): { route: string; arg: string } {
  const parts = hash.replace(/^#\/?/, '').split('/');
  return { route: parts[0] || 'overview', arg: decodeURIComponent(parts.slice(1).join('/')) };
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    let current = location.hash;
    const on = () => {
      if (location.hash === current) return;
      if (anyDirty() && !confirm('Leave this page? Your changes are not saved.')) {
        history.replaceState(null, '', current);
        return;
      }
      clearDirty();
      current = location.hash;
      setHash(location.hash);
    };
    const before = (e: BeforeUnloadEvent) => {
      if (anyDirty()) e.preventDefault();
    };
    addEventListener('hashchange', on);
    addEventListener('beforeunload', before);
    return () => {
      removeEventListener('hashchange', on);
      removeEventListener('beforeunload', before);
    };
  }, []);
  return hash;
}

export function App({ api }: { api: Api }) {
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [checked, setChecked] = useState(false);
  const [ended, setEnded] = useState(false);
  const [loadError, setLoadError] = useState('');
  const [reauth, setReauth] = useState<((ok: boolean) => void) | null>(null);
  const hash = useHash();

  const start = async () => {
    try {
      const id = await api.get<Identity>('/identity');
      setIdentity(id);
      if (!id.setup_required) {
        try {
          const s = await api.get<SessionInfo>('/session');
          api.csrf = s.csrf_token;
          setSession(s);
        } catch {
          setSession(null);
        }
      }
      setChecked(true);
    } catch (e) {
      setLoadError(errorText(e));
    }
  };

  useEffect(() => {
    api.hooks = {
      unauthenticated() {
        // The session ended (idle timeout, logout elsewhere, restart): back to login, the hash
        // (the page) stays, so the user returns to it after logging in.
        api.csrf = '';
        setSession(null);
        setEnded(true);
      },
      reauthenticate: () => new Promise<boolean>((resolve) => setReauth(() => resolve)),
    };
    void start();
  }, []);

  useEffect(() => {
    document.title = identity ? `${identity.device_name} — SerialGate` : 'SerialGate';
  }, [identity]);

  if (loadError) return <main class="center"><Notice kind="error">The device did not answer: {loadError}</Notice></main>;
  if (!identity || !checked) return <main class="center" aria-busy="true"><p>Loading…</p></main>;
  if (identity.setup_required) {
    return <CreateAccount api={api} identity={identity} done={() => { setIdentity({ ...identity, setup_required: false }); }} />;
  }
  if (!session) {
    return <Login api={api} identity={identity} ended={ended} done={(s) => { api.csrf = s.csrf_token; setEnded(false); setSession(s); }} />;
  }
  if (session.must_change_password) {
    return <ChangePassword api={api} forced onDone={() => setSession({ ...session, must_change_password: false, password_expired: false })}
      onLogout={() => logout(api, setSession)} />;
  }
  const { route, arg } = parseRoute(hash);
  return (
    <Shell api={api} identity={identity} session={session} route={route} arg={arg}
      onLogout={() => logout(api, setSession)} onPasswordChanged={() => setSession({ ...session, password_expired: false, password_expires_in_days: undefined })}>
      {reauth && <Reauth api={api} onClose={(ok) => { reauth(ok); setReauth(null); }} />}
    </Shell>
  );
}

async function logout(api: Api, setSession: (s: SessionInfo | null) => void) {
  try {
    await api.post('/logout');
  } catch {
    /* the session is gone either way */
  }
  api.csrf = '';
  setSession(null);
}

function Shell(props: {
  api: Api; identity: Identity; session: SessionInfo; route: string; arg: string;
  onLogout(): void; onPasswordChanged(): void; children?: preact.ComponentChildren;
}) {
  const { api, session, route, arg } = props;
  const menu = visiblePages(session.privileges);
  const page = pages.find((p) => p.route === route);
  const [menuOpen, setMenuOpen] = useState(false);
  const [changing, setChanging] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  // A layout effect: the focus moves in the same commit that shows the new page, so nothing (a
  // keypress, a test reading the focus) sees the new page with the focus still on the menu.
  useLayoutEffect(() => {
    setMenuOpen(false);
    mainRef.current?.focus();
  }, [route, arg]);
  let content;
  if (route === 'password' || changing) {
    content = <ChangePassword api={api} onDone={() => { setChanging(false); props.onPasswordChanged(); location.hash = '#/overview'; }} />;
  } else if (!page) {
    content = <div class="card"><h1>Not found</h1><p>There is no page “{route}”.</p></div>;
  } else if (!canSee(page, session.privileges)) {
    content = (
      <div class="card" id="not-permitted">
        <h1>Not permitted</h1>
        <p>Your group ({session.group}) may not see {page.title}.</p>
      </div>
    );
  } else {
    const C = page.component;
    content = (
      <>
        <h1>{page.title}{!canWrite(page, session.privileges) && <span class="badge">read only</span>}</h1>
        <C key={route} api={api} session={session} writable={canWrite(page, session.privileges)} arg={arg} />
      </>
    );
  }
  const days = session.password_expires_in_days;
  return (
    <div class="shell">
      <a class="skip" id="skip" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>Skip to content</a>
      <header class="top">
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="menu" onClick={() => setMenuOpen(!menuOpen)}>Menu</button>
        <span class="device">{props.identity.device_name}</span>
        <span class="who">{session.account} ({session.group})</span>
        <a href="#/password" class="link">Change password</a>
        <button type="button" id="logout" onClick={props.onLogout}>Log out</button>
      </header>
      <nav id="menu" class={menuOpen ? 'open' : ''} aria-label="Main menu">
        <ul>
          {menu.map((p) => (
            <li key={p.route}>
              <a id={`menu-${p.route}`} href={`#/${p.route}`} aria-current={p.route === route ? 'page' : undefined}>{p.title}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} ref={mainRef}>
        {session.password_expired && <Notice kind="info">Your password has expired. <a href="#/password">Change it now</a>.</Notice>}
        {!session.password_expired && days !== undefined && (
          <Notice kind="info">Your password expires in {days} day{days === 1 ? '' : 's'}. <a href="#/password">Change it</a>.</Notice>
        )}
        {content}
      </main>
      {props.children}
    </div>
  );
}

function CreateAccount(props: { api: Api; identity: Identity; done(): void }) {
  const [account, setAccount] = useState('admin');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== again) return setError('The two passwords differ.');
    setBusy(true);
    setError('');
    try {
      await props.api.post('/setup', { account, password });
      props.done();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center">
      <form class="card narrow" onSubmit={submit} id="setup-form">
        <h1>Create account</h1>
        <p>{props.identity.device_name} has no account yet, and no serial port listens until the first administrator exists.</p>
        <label for="setup-account">Account name</label>
        <input id="setup-account" autocomplete="username" value={account} onInput={(e) => setAccount((e.target as HTMLInputElement).value)} required maxLength={32} />
        <label for="setup-password">Password</label>
        <input id="setup-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required maxLength={128} />
        <label for="setup-again">Password again</label>
        <input id="setup-again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} required maxLength={128} />
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create account'}</button>
      </form>
    </main>
  );
}

export function lockText(seconds: number): string {
  if (seconds >= 60) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return `${m} min${s ? ` ${s} s` : ''}`;
  }
  return `${seconds} s`;
}

function Login(props: { api: Api; identity: Identity; ended: boolean; done(s: SessionInfo): void }) {
  const [message, setMessage] = useState<string | null>(null);
  const [account, setAccount] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [lockedUntil, setLockedUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    props.api.text('/login-message').then(setMessage, () => setMessage(''));
  }, []);
  useEffect(() => {
    if (lockedUntil <= now) return;
    const t = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(t);
  }, [lockedUntil, now]);
  const left = Math.max(0, Math.ceil((lockedUntil - now) / 1000));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await props.api.post<SessionInfo>('/login', { account, password });
      setPassword('');
      props.done(s);
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'locked' || err.code === 'throttled') && err.retryAfter !== null) {
        setLockedUntil(Date.now() + err.retryAfter * 1000);
        setNow(Date.now());
        setError(err.code === 'locked' ? 'This account is locked.' : errorText(err));
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center">
      <form class="card narrow" onSubmit={submit} id="login-form">
        <h1>Log in to {props.identity.device_name}</h1>
        {props.ended && <Notice kind="info">Your session has ended. Log in again to go on where you were.</Notice>}
        {message && <p class="login-message" id="login-message">{message}</p>}
        <label for="login-account">Account name</label>
        <input id="login-account" autocomplete="username" value={account} onInput={(e) => setAccount((e.target as HTMLInputElement).value)} required />
        <label for="login-password">Password</label>
        <input id="login-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        {error && <Notice kind="error">{error}{left > 0 && <span id="lock-left"> Try again in {lockText(left)}.</span>}</Notice>}
        <button type="submit" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
      </form>
    </main>
  );
}

function ChangePassword(props: { api: Api; forced?: boolean; onDone(): void; onLogout?(): void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) return setError('The two new passwords differ.');
    setBusy(true);
    setError('');
    try {
      await props.api.put('/session/password', { current_password: current, new_password: next });
      props.onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const form = (
    <form class="card narrow" onSubmit={submit} id="password-form">
      <h1>Change password</h1>
      {props.forced && <Notice kind="info">You must change your password before you go on.</Notice>}
      <label for="pw-current">Current password</label>
      <input id="pw-current" type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} required />
      <label for="pw-new">New password</label>
      <input id="pw-new" type="password" autocomplete="new-password" value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} required maxLength={128} />
      <label for="pw-again">New password again</label>
      <input id="pw-again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} required maxLength={128} />
      {error && <Notice kind="error">{error}</Notice>}
      <button type="submit" disabled={busy}>{busy ? 'Saving…' : 'Change password'}</button>
      {props.onLogout && <button type="button" onClick={props.onLogout}>Log out</button>}
    </form>
  );
  return props.forced ? <main class="center">{form}</main> : form;
}

function Reauth(props: { api: Api; onClose(ok: boolean): void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await props.api.post('/session/reauth', { password });
      props.onClose(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="overlay">
      <form class="card narrow" role="dialog" aria-modal="true" aria-labelledby="reauth-title" onSubmit={submit} id="reauth-form"
        onKeyDown={(e) => { if (e.key === 'Escape') props.onClose(false); }}>
        <h2 id="reauth-title">Confirm your password</h2>
        <p>This change is sensitive: confirm your password to go on.</p>
        <label for="reauth-password">Password</label>
        <input id="reauth-password" ref={ref} type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Confirm'}</button>
        <button type="button" onClick={() => props.onClose(false)}>Cancel</button>
      </form>
    </div>
  );
}

export function mount(root: HTMLElement) {
  render(<App api={new Api()} />, root);
}
