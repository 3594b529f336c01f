// registry.ts: the console's menu, in the device's order. A page is one entry here plus one
// component file: its route, its title, the privilege area it needs (the menu and the router hide
// it when the session's group has that area `hidden`) and any further areas it needs.
import type { FunctionComponent } from 'preact';
import type { PageProps } from '../context';
import { Overview } from './Overview';
import { SerialPorts } from './SerialPorts';
import { Diagnostics } from './Diagnostics';
import { Security } from './Security';
import { Accounts } from './Accounts';
import { Maintenance } from './Maintenance';

export type Area =
  | 'overview' | 'system' | 'network' | 'serial' | 'security'
  | 'accounts' | 'diagnostics' | 'maintenance' | 'administration';
export type Access = 'hidden' | 'read_only' | 'read_write';
export type Privileges = Partial<Record<Area, Access>>;

export type Page = {
  route: string;
  title: string;
  area: Area;
  /** Also needed (read) to see the page at all, e.g. Maintenance's whole document needs Security. */
  alsoNeeds?: Area[];
  component: FunctionComponent<PageProps>;
};

export const pages: Page[] = [
  { route: 'overview', title: 'Overview', area: 'overview', component: Overview },
  { route: 'serial', title: 'Serial Port Settings', area: 'serial', component: SerialPorts },
  { route: 'diagnostics', title: 'Diagnostics', area: 'diagnostics', component: Diagnostics },
  { route: 'security', title: 'Security', area: 'security', component: Security },
  { route: 'accounts', title: 'Account Management', area: 'accounts', component: Accounts },
  { route: 'maintenance', title: 'Maintenance', area: 'maintenance', alsoNeeds: ['security'], component: Maintenance },
];

export function canSee(p: Pick<Page, 'area' | 'alsoNeeds'>, priv: Privileges): boolean {
  return [p.area, ...(p.alsoNeeds ?? [])].every((a) => (priv[a] ?? 'hidden') !== 'hidden');
}

export function canWrite(p: Pick<Page, 'area' | 'alsoNeeds'>, priv: Privileges): boolean {
  return [p.area, ...(p.alsoNeeds ?? [])].every((a) => priv[a] === 'read_write');
}

/** The pages this session may see, in menu order. */
export function visiblePages(priv: Privileges): Page[] {
  return pages.filter((p) => canSee(p, priv));
}
