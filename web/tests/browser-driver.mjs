// browser-driver.mjs: drives Debian's Chromium (headless, through playwright-core) for the
// console's system tests (tests/system/console/). Python sends one JSON command per line on
// stdin and reads one JSON answer per line on stdout, so the tests keep their server fixtures and
// API checks in Python. Everything the browser logs is watched: console errors, page errors, CSP
// violations (securitypolicyviolation events) and every request to another origin.
//
// Usage: node browser-driver.mjs <base-url> <screenshot-dir>
import { mkdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [base, shots] = process.argv.slice(2);
const origin = new URL(base).origin;
const executablePath = process.env.SG_CHROMIUM || '/usr/bin/chromium';
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const problems = { console: [], page: [], csp: [], foreign: [] };
const apiRefusals = [];
let context;
let page;

async function newContext(width = 1280) {
  if (context) await context.close();
  context = await browser.newContext({
    ignoreHTTPSErrors: true, // the device's self-signed certificate
    viewport: { width, height: 900 },
    acceptDownloads: true,
  });
  // Injected by the DevTools protocol, not by the page: the CSP does not apply to it.
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  context.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (new URL(u).origin !== origin) problems.foreign.push(u);
  });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every non-2xx fetch; an API refusal the page handles (401, 400 with
    // problems, 423) is an answer, not an error of the console.
    const url = m.location()?.url ?? '';
    if (/^Failed to load resource: the server responded with a status of [45]\d\d/.test(m.text()) &&
        url.startsWith(origin + '/api/v1/')) {
      apiRefusals.push(`${m.text()} ${url}`);
      return;
    }
    problems.console.push(m.text());
  });
  page.on('pageerror', (e) => problems.page.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    if (d.type() === 'confirm' && !acceptConfirm) return d.dismiss();
    return d.accept(d.type() === 'prompt' ? (nextPrompt ?? '') : undefined);
  });
}
let nextPrompt = null;
let acceptConfirm = true;
const dialogs = [];

const loc = (sel, text) => (text ? page.locator(sel, { hasText: text }) : page.locator(sel));

const ops = {
  async new_context({ width }) { await newContext(width); },
  async goto({ path }) { await page.goto(base + path, { waitUntil: 'load' }); },
  async reload() { await page.reload({ waitUntil: 'load' }); },
  async fill({ sel, value }) { await loc(sel).fill(value); },
  async click({ sel, text }) { await loc(sel, text).first().click(); },
  async select({ sel, value }) { await loc(sel).selectOption(value); },
  async check({ sel, on }) { await loc(sel).setChecked(on); },
  async press({ key }) { await page.keyboard.press(key); },
  async type_text({ text }) { await page.keyboard.type(text); },
  async wait({ sel, text, state }) { await loc(sel, text).first().waitFor({ state: state ?? 'visible' }); },
  async text({ sel }) { return await loc(sel).first().innerText(); },
  async texts({ sel }) { return await loc(sel).allInnerTexts(); },
  async count({ sel }) { return await loc(sel).count(); },
  async attribute({ sel, name }) { return await loc(sel).first().getAttribute(name); },
  async disabled({ sel }) { return await loc(sel).first().isDisabled(); },
  async value({ sel }) { return await loc(sel).inputValue(); },
  async focused() { return await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName || ''); },
  async url() { return page.url(); },
  async files({ sel, paths }) { await loc(sel).setInputFiles(paths); },
  async prompt_answer({ value }) { nextPrompt = value; },
  async confirm_answer({ accept }) { acceptConfirm = accept; },
  async dialogs() { return dialogs.splice(0); },
  /** Waits for a dialog whose message holds `text` (a click's hashchange runs its confirm() after
   * the click has returned), then hands out every dialog so far. */
  async wait_dialog({ text }) {
    const until = Date.now() + 15000;
    while (!dialogs.some((m) => m.includes(text))) {
      if (Date.now() > until) throw new Error(`no dialog with "${text}" within 15 s (seen: ${JSON.stringify(dialogs)})`);
      await page.waitForTimeout(50);
    }
    return dialogs.splice(0);
  },
  async viewport({ width }) { await page.setViewportSize({ width, height: 900 }); },
  /** Waits until what the page loads is shown: no "Loading…" left, then a moment for layout. */
  async settle() {
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await page.waitForTimeout(300);
  },
  async screenshot({ name }) {
    await ops.settle();
    const path = `${shots}/${name}.png`;
    await page.screenshot({ path, fullPage: true });
    return path;
  },
  async download({ sel }) {
    const [d] = await Promise.all([page.waitForEvent('download'), loc(sel).first().click()]);
    const path = await d.path();
    return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8') };
  },
  async api_refusals() { return apiRefusals.splice(0); },
  /** Elements reaching beyond the viewport's right edge (to say what makes a page too wide). */
  async too_wide() {
    return await page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if ((r.right > innerWidth + 1 || r.left < -1) && !el.parentElement?.closest('.table-wrap') && !el.closest('.skip')) {
          out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
        }
      }
      return out.slice(0, 8);
    });
  },
  async scroll_width() { return await page.evaluate(() => document.documentElement.scrollWidth); },
  async problems() {
    const csp = page ? await page.evaluate(() => window.__csp ?? []).catch(() => []) : [];
    const out = { ...problems, csp: [...problems.csp, ...csp] };
    problems.console = []; problems.page = []; problems.csp = []; problems.foreign = [];
    return out;
  },
  async quit() { await browser.close(); process.exit(0); },
};

await newContext();
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const cmd = JSON.parse(line);
  try {
    const result = await ops[cmd.op](cmd);
    process.stdout.write(JSON.stringify({ ok: true, result: result ?? null }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }) + '\n');
  }
}
await browser.close();
