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

async function run(name, body, width = 1400) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
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
        note: await page.$$eval('p.notice', (ps) => ps.map((p) => p.textContent).join('\n')).catch(() => null),
      };
    });
  }

  // 4. The incident workspace at 1280 px: the overview, the Audit Trail of the provider's export,
  // an event's detail, the download, the incident timeline; none scrolls sideways.
  if (config.incidentProject) {
    await run('workspace', async (page) => {
      const width = async () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      await page.goto(`${config.baseUrl}/sign-in`);
      await signIn(page, config.ownerKey);
      const landing = new URL(page.url()).pathname;

      await page.goto(`${config.baseUrl}/?project_id=${encodeURIComponent(config.incidentProject)}`);
      const overview = {
        width: await width(),
        recent: await page.$$eval('table.recent .alert-name', (cells) => cells.map((c) => c.textContent)),
        charts: await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({ id: s.id, width: Math.round(s.getBoundingClientRect().width) }))),
        topPrincipal: await page.$eval('section.top table tbody tr td', (td) => td.textContent).catch(() => null),
      };
      await shot(page, '08-overview');

      await page.goto(config.providerTrail);
      const trail = {
        width: await width(),
        rows: await page.$$eval('table.events tbody tr', (rows) => rows.length),
        tallestRow: await page.$$eval('table.events tbody tr', (rows) => Math.max(...rows.map((r) => r.getBoundingClientRect().height))),
        pageHeight: await page.evaluate(() => document.documentElement.scrollHeight),
        afterType: await page.$eval('#f-after', (e) => e.type),
      };
      await shot(page, '09-audit-trail-provider-export');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href*="format=jsonl"]')]);
      const downloaded = readFileSync(await download.path(), 'utf8');
      trail.download = { name: download.suggestedFilename(), lines: downloaded.split('\n').filter((l) => l.length > 0) };

      await page.goto(config.detailUrl);
      const detail = {
        width: await width(),
        requestBody: await page.$eval('#request-body', (e) => e.textContent),
        verified: await page.$eval('p.verified', (e) => e.textContent).catch(() => null),
      };
      await shot(page, '10-event-detail');

      // From the alert history to the firing's timeline with the keyboard alone: the first Tab
      // reaches the skip link, further Tabs the firing's Timeline link, Enter follows it.
      await page.goto(`${config.baseUrl}/alerts/history?project_id=${encodeURIComponent(config.incidentProject)}`);
      await page.keyboard.press('Tab');
      const keyboard = { firstFocus: await page.evaluate(() => document.activeElement && document.activeElement.className), tabs: 1, reached: null };
      while (keyboard.tabs < 400 && !keyboard.reached) {
        await page.keyboard.press('Tab');
        keyboard.tabs++;
        const focused = await page.evaluate(() => ({ text: document.activeElement.textContent, href: document.activeElement.getAttribute('href') }));
        if (focused.text === 'Timeline' && focused.href && focused.href.includes(config.firingId)) keyboard.reached = focused.href;
      }
      if (keyboard.reached) {
        await Promise.all([page.waitForURL(/\/incident\?/), page.keyboard.press('Enter')]);
      }
      keyboard.url = page.url();
      const incident = {
        keyboard,
        width: await width(),
        lifecycle: await page.$$eval('table.lifecycle tbody tr', (rows) => rows.map((r) => r.className)),
        links: await page.$$eval('table.timeline td.id a', (links) => links.map((a) => a.getAttribute('href'))),
        lanes: await page.$$eval('svg#incident-lanes text.lane', (texts) => texts.map((t) => t.textContent)),
      };
      await shot(page, '11-incident-timeline');
      return { landing, overview, trail, detail, incident };
    }, 1280);
  }
} finally {
  await browser.close();
}

process.stdout.write(JSON.stringify(report));
