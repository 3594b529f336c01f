// pages.test.ts: the menu follows the session's privileges; the event-log filter's query and time.
import { describe, expect, it } from 'vitest';
import { canSee, canWrite, pages, visiblePages, type Privileges } from '../src/pages/registry';
import { eventQuery, inTime } from '../src/pages/Diagnostics';
import { parseRoute, lockText } from '../src/app';

const operator: Privileges = {
  overview: 'read_write', system: 'read_write', network: 'read_write', serial: 'read_write',
  security: 'hidden', accounts: 'hidden', diagnostics: 'read_write', maintenance: 'read_write', administration: 'read_write',
};

describe('menu', () => {
  it('an Operator never sees Security, Account Management or the whole-configuration page', () => {
    const titles = visiblePages(operator).map((p) => p.title);
    expect(titles).toEqual(['Overview', 'Serial Port Settings', 'Diagnostics']);
  });
  it('keeps the device order for an administrator', () => {
    const all = Object.fromEntries(Object.keys(operator).map((k) => [k, 'read_write'])) as Privileges;
    expect(visiblePages(all).map((p) => p.route)).toEqual(['overview', 'serial', 'diagnostics', 'security', 'accounts', 'maintenance']);
  });
  it('read-only areas are shown read-only', () => {
    const serial = pages.find((p) => p.route === 'serial')!;
    expect(canSee(serial, { serial: 'read_only' })).toBe(true);
    expect(canWrite(serial, { serial: 'read_only' })).toBe(false);
    expect(canSee(serial, {})).toBe(false);
  });
});

describe('routes and words', () => {
  it('parses hash routes', () => {
    expect(parseRoute('')).toEqual({ route: 'overview', arg: '' });
    expect(parseRoute('#/serial/2')).toEqual({ route: 'serial', arg: '2' });
  });
  it('says the lock time left', () => {
    expect(lockText(45)).toBe('45 s');
    expect(lockText(300)).toBe('5 min');
    expect(lockText(61)).toBe('1 min 1 s');
  });
});

describe('event filter', () => {
  it('builds the API query', () => {
    expect(eventQuery({ category: 'security', severity: 'warning', port: '', type: '', from: '', to: '' }, 50)).toBe('category=security&severity=warning&limit=50');
    expect(eventQuery({ category: '', severity: '', port: '2', type: 'serial.connected', from: '', to: '' }, 0)).toBe('port=2&type=serial.connected');
  });
  it('filters by time', () => {
    const ev = (id: number, time: string) => ({ id, time, type: '', category: '', severity: '', port: null, account: '', source: '', message: '' });
    const list = [ev(1, '2026-01-01T10:00:00Z'), ev(2, '2026-01-01T12:00:00Z')];
    expect(inTime(list, '', '').length).toBe(2);
    // datetime-local values are in the browser's time zone.
    const d = new Date('2026-01-01T11:00:00Z');
    const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    expect(inTime(list, local, '').map((e) => e.id)).toEqual([2]);
  });
});
