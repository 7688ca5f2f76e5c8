// Drives Debian's headless Chromium through the AuditOrleans console with playwright-core.
// Usage: node scenarios.mjs <config.json>   (written by BrowserTests.cs)
// It only acts and observes: it reports what the pages showed as JSON on stdout and writes a
// screenshot of each page; the C# tests make the assertions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = { scenarios: {}, screenshots: [] };

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  // The flags that work on this machine's closed network (no background connections).
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

async function shot(page, name) {
  const path = join(config.screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  report.screenshots.push(path);
}

async function signIn(page, key) {
  await page.fill('#api-key', key);
  await Promise.all([page.waitForNavigation(), page.click('form.sign-in button[type=submit]')]);
}

const eventIds = (page) => page.$$eval('td.id > code', (cells) => cells.map((c) => c.textContent));
const inputValue = (page, name) => page.$eval(`form.filters [name="${name}"]`, (e) => e.value);
const checkedAlerts = (page) => page.$$eval('input[name="active"]:checked', (boxes) => boxes.map((b) => b.value));

async function run(name, body) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    report.scenarios[name] = await body(page);
  } catch (error) {
    report.scenarios[name] = { error: String(error && error.stack || error) };
    await shot(page, `${name}-error`).catch(() => {});
  } finally {
    await context.close();
  }
}

try {
  // 1. The link of a real alert email, opened without a session: sign in, land on the events.
  await run('alertLink', async (page) => {
    await page.goto(config.alertLink);
    const signInUrl = page.url();
    await shot(page, '01-sign-in');
    await signIn(page, config.ownerKey);
    await shot(page, '02-audit-trail-from-alert-link');
    return {
      signInUrl,
      finalUrl: page.url(),
      eventIds: await eventIds(page),
      recordedAfter: await inputValue(page, 'recorded_after'),
      recordedBefore: await inputValue(page, 'recorded_before'),
      methodName: await inputValue(page, 'method_name'),
      projectId: await inputValue(page, 'project_id'),
      region: await inputValue(page, 'region'),
      cookies: (await page.context().cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite, expires: c.expires })),
    };
  });

  // 2. Toggle two alerts, save, see the applied state, reload and see it kept.
  await run('toggle', async (page) => {
    await page.goto(`${config.baseUrl}/sign-in`);
    await signIn(page, config.ownerKey);
    await page.goto(`${config.baseUrl}/alerts?project_id=${encodeURIComponent(config.projectId)}`);
    await page.selectOption('#a-region', config.toggleRegion);
    await Promise.all([page.waitForNavigation(), page.click('form.selector button[type=submit]')]);
    const before = await checkedAlerts(page);
    await shot(page, '03-alerts-before');
    for (const alert of config.toggle) {
      await page.check(`#alert-${alert}`);
    }
    await Promise.all([page.waitForNavigation(), page.click('#save')]);
    const afterSave = await checkedAlerts(page);
    const notice = await page.$eval('p.notice', (p) => p.textContent).catch(() => null);
    await shot(page, '04-alerts-saved');
    await page.reload();
    const afterReload = await checkedAlerts(page);
    const region = await page.$eval('#a-region', (s) => s.value);
    await shot(page, '05-alerts-after-reload');
    await page.goto(`${config.baseUrl}/alerts/history?project_id=${encodeURIComponent(config.projectId)}`);
    const history = await page.$$eval('table.history tbody tr', (rows) => rows.map((r) => r.querySelector('.alert-name').textContent));
    const deliveries = await page.$$eval('ul.deliveries li', (items) => items.map((i) => i.textContent.replace(/\s+/g, ' ').trim()));
    await shot(page, '06-alert-history');
    return { before, afterSave, notice, afterReload, region, history, deliveries };
  });

  // 3. A read-only key sees the alerts with their checkboxes and Save button disabled.
  if (config.readOnlyKey) {
    await run('readOnly', async (page) => {
      await page.goto(`${config.baseUrl}/sign-in`);
      await signIn(page, config.readOnlyKey);
      await page.goto(`${config.baseUrl}/alerts?project_id=${encodeURIComponent(config.projectId)}&region=${config.toggleRegion}`);
      await shot(page, '07-alerts-read-only');
      return {
        boxes: await page.$$eval('input[name="active"]', (boxes) => boxes.map((b) => ({ value: b.value, disabled: b.disabled, checked: b.checked }))),
        saveDisabled: await page.$eval('#save', (b) => b.disabled),
        note: await page.$eval('p.notice', (p) => p.textContent).catch(() => null),
      };
    });
  }
} finally {
  await browser.close();
}

process.stdout.write(JSON.stringify(report));
