// report.html in a real browser (headless Chromium via playwright-core): it renders, its
// counts match results.json, the verdict filters and the text filter work, and it loads
// nothing from the network. Skipped when /usr/bin/chromium is absent (CI installs it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildResults, type Results } from '../reports/results.ts';
import { reportHtml } from '../reports/html.ts';
import { VERDICTS } from '../reports/verdict.ts';
import { A, B, C, META, combos, scenario } from '../reports/fixtures.test-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`report-browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

function fabricate(): Results {
  const v = (clause: string, level: 'MUST' | 'SHOULD') => ({ clause, level, section: META[clause].section, ordinal: META[clause].ordinal, keywords: META[clause].keywords, expected: 'status 0', observed: 'status 0x0f' });
  const ss = [
    scenario('reset ok', 'PASS', [A]),
    scenario('reset ok mmio', 'PASS', [A], { transport: 'mmio' }),
    scenario('reset broken', 'FAIL', [A], { violation: v(A, 'MUST'), message: 'reset: expected status 0; observed status 0x0f' }),
    scenario('renegotiation', 'WARN', [B], { violation: v(B, 'SHOULD'), message: 'renegotiation refused' }),
    scenario('event idx', 'NOT_APPLICABLE', [B], { message: 'the device does not offer VIRTIO_F_EVENT_IDX' }),
    scenario('vendor id', 'PASS', [C], { device: 'blk' }),
    scenario('wedge', 'WEDGED', [C], { device: 'blk', transport: 'mmio', message: 'qtest connection lost' }),
    scenario('bug', 'ERROR', [C], { device: 'blk', transport: 'mmio', message: 'TypeError: x' }),
  ];
  return buildResults({
    suite: { name: 'virtio-cts', version: '0.1.0' }, spec: { version: 'v1.4-cs01' },
    target: { adapter: 'reference', device: 'all', transport: 'all' },
    timeoutScale: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.000Z',
  }, combos(ss), (id) => META[id]).results;
}

describe.skipIf(!HAVE_CHROMIUM)('report.html in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  const results = fabricate();
  const external: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, reportHtml(results, { version: 'v1.4-cs01', notice: 'Copyright notice marker', texts: new Map([[A, 'clause text marker']]) }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (r) => { if (!r.url().startsWith('file:')) external.push(r.url()); });
    await page.goto(`file://${file}`);
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders the summary with the counts of results.json and loads nothing from the network', async () => {
    await expect(page.locator('h1').textContent()).resolves.toContain('virtio-cts');
    for (const v of VERDICTS) {
      expect(Number(await page.locator(`[data-count="scenarios-${v}"]`).textContent()), v).toBe(results.summary[v]);
      expect(Number(await page.locator(`[data-count="clauses-${v}"]`).textContent()), v).toBe(results.clauseSummary[v]);
      expect(await page.locator(`tr.scenario[data-verdict="${v}"]`).count(), v).toBe(results.summary[v]);
      expect(await page.locator(`tr.clause[data-verdict="${v}"]`).count(), v).toBe(results.clauseSummary[v]);
    }
    expect(await page.locator('#shown').textContent()).toBe(`showing ${results.scenarios.length} of ${results.scenarios.length} scenarios`);
    expect(external).toEqual([]);
  });

  it('shows the FAIL first in the failures section, with clause, expected and observed', async () => {
    const first = page.locator('#failures article.problem').first();
    await expect(first.getAttribute('data-verdict')).resolves.toBe('FAIL');
    const text = await first.innerText();
    expect(text).toContain(A);
    expect(text).toContain('§2.4.1 ¶1');
    expect(text).toMatch(/Expected\s+status 0/);
    expect(text).toMatch(/Observed\s+status 0x0f/);
    expect(text).toContain('clause text marker');
    await expect(page.locator('#notice').innerText()).resolves.toContain('Copyright notice marker');
  });

  it('hides a verdict everywhere when its box is unticked, and shows it again', async () => {
    await page.locator('input.vf[value="PASS"]').uncheck();
    expect(await page.locator('tr.scenario[data-verdict="PASS"]:visible').count()).toBe(0);
    expect(await page.locator('.chip[data-verdict="PASS"]:visible').count()).toBe(0);
    expect(await page.locator('tr.scenario[data-verdict="FAIL"]:visible').count()).toBe(results.summary.FAIL);
    const rest = results.scenarios.length - results.summary.PASS;
    expect(await page.locator('#shown').textContent()).toBe(`showing ${rest} of ${results.scenarios.length} scenarios`);
    await page.locator('input.vf[value="PASS"]').check();
    expect(await page.locator('tr.scenario[data-verdict="PASS"]:visible').count()).toBe(results.summary.PASS);
  });

  it('filters by text', async () => {
    await page.locator('#q').fill('wedge');
    expect(await page.locator('tr.scenario:visible').count()).toBe(1);
    await expect(page.locator('tr.scenario:visible').getAttribute('data-verdict')).resolves.toBe('WEDGED');
    await page.locator('#q').fill('');
    expect(await page.locator('tr.scenario:visible').count()).toBe(results.scenarios.length);
  });
});
