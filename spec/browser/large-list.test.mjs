// The Developers page with tens of thousands of developers: the first page,
// paging forward and back, and search stay fast because only one page is
// fetched and drawn at a time.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
  PREFIX,
  counts,
  expectText,
  launchBrowser,
  openAdmin,
  startHost,
  stopHost,
} from './support/harness.mjs';

const run = promisify(execFile);

const DEVELOPERS = 30000;
// A generous bound on a 2-core machine, so that a failure points at work
// that grows with the whole list rather than at a slow machine.
const MAX_PAGE_MS = 2000;

let browser;
let page;

/**
 * Inserts the developers straight into the store's SQLite file, since 30,000
 * registrations through the API would spend minutes hashing passwords. The
 * host must have opened the store once, so that its schema exists.
 */
async function seedDevelopers(count) {
  const sql = `
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
    INSERT INTO developers (id, email, email_key, full_name, meta, status,
                            created_at, updated_at, status_changed_at)
    SELECT printf('00000000-0000-4000-8000-%012d', i),
           printf('bulk%05d@example.com', i),
           printf('bulk%05d@example.com', i),
           printf('Bulk Developer %05d', i),
           json_object('full_name', printf('Bulk Developer %05d', i)),
           1, 1700000000 + i, 1700000000 + i, 1700000000 + i
    FROM n;`;
  const database = path.join(PREFIX, 'developer_portal.db');
  // The workers run as nobody when the host starts as root; writing as the
  // same user keeps the WAL files readable by them.
  const command = process.getuid && process.getuid() === 0
    ? ['runuser', ['-u', 'nobody', '--', 'sqlite3', database, sql]]
    : ['sqlite3', [database, sql]];
  await run(...command);
}

async function timed(action, done) {
  const start = Date.now();
  await action();
  await done();
  return Date.now() - start;
}

before(async () => {
  await startHost();
  assert.equal((await counts()).total, 0);
  await seedDevelopers(DEVELOPERS);
  browser = await launchBrowser();
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await stopHost();
});

const firstEmail = () => page.locator('#rows tr').first().locator('td').first();

test('first page of 30,000 loads quickly', async () => {
  assert.equal((await counts()).requested, DEVELOPERS);
  const elapsed = await timed(
    () => openAdmin(page, 'requested'),
    () => expectText(firstEmail(), 'bulk30000@example.com'),
  );
  assert.ok(elapsed < MAX_PAGE_MS, `first page took ${elapsed} ms`);
  await expectText(page.locator('#count-requested'), '30,000');
  await expectText(page.locator('#page-info'), 'Page 1 of 600 · 30,000 developers');
  assert.equal(await page.locator('#rows tr').count(), 50);
});

test('paging forward and back', async () => {
  await openAdmin(page, 'requested');
  await expectText(firstEmail(), 'bulk30000@example.com');
  const next = page.getByRole('button', { name: 'Next' });
  const previous = page.getByRole('button', { name: 'Previous' });
  assert.equal(await previous.isDisabled(), true);

  for (const [pageNumber, email] of [[2, 'bulk29950'], [3, 'bulk29900'], [4, 'bulk29850']]) {
    const elapsed = await timed(
      () => next.click(),
      () => expectText(firstEmail(), `${email}@example.com`),
    );
    assert.ok(elapsed < MAX_PAGE_MS, `page ${pageNumber} took ${elapsed} ms`);
    await expectText(page.locator('#page-info'), `Page ${pageNumber} of 600 · 30,000 developers`);
  }
  await previous.click();
  await expectText(firstEmail(), 'bulk29900@example.com');
  await previous.click();
  await previous.click();
  await expectText(firstEmail(), 'bulk30000@example.com');
  await expectText(page.locator('#page-info'), 'Page 1 of 600 · 30,000 developers');
  assert.equal(await previous.isDisabled(), true);
});

test('search finds one of 30,000', async () => {
  await openAdmin(page, 'requested');
  const elapsed = await timed(
    () => page.getByLabel('Search by email or name').fill('Developer 12345'),
    () => expectText(page.locator('#page-info'), 'Page 1 of 1 · 1 matching developer'),
  );
  assert.ok(elapsed < MAX_PAGE_MS + 250, `search took ${elapsed} ms`);
  await expectText(firstEmail(), 'bulk12345@example.com');

  await page.getByLabel('Rows per page').selectOption('100');
  await page.getByLabel('Search by email or name').fill('bulk0');
  await expectText(page.locator('#page-info'), 'Page 1 of 100 · 9,999 matching developers');
  assert.equal(await page.locator('#rows tr').count(), 100);
});
