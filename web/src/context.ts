// context.ts: what every page gets — the API client, the session, whether it may write.
import type { Api } from './api';
import type { Privileges } from './pages/registry';

export type SessionInfo = {
  account: string;
  group: string;
  csrf_token: string;
  must_change_password: boolean;
  password_expired?: boolean;
  password_expires_in_days?: number;
  privileges: Privileges;
};

export type PageProps = {
  api: Api;
  session: SessionInfo;
  /** The session may change what this page shows (read_write on its areas). */
  writable: boolean;
  /** The route's argument: #/serial/2 → "2". */
  arg: string;
};
