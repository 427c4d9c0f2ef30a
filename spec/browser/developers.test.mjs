// The Developers page of the Admin GUI against a real host: registration
// through the portal page, every row action, counts, the developer view, a
// full name with markup, and conflicts with another admin.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  PORTS,
  adminApi,
  counts,
  createDeveloper,
  expectText,
  expectTextContaining,
  launchBrowser,
  openAdmin,
  registerThroughPortal,
  screenshot,
  startHost,
  stopHost,
} from './support/harness.mjs';

const ANN = { email: 'ann@example.com', fullName: 'Ann Lovelace', password: 'analytical-engine' };
const BOB = { email: 'bob@example.com', fullName: 'Bob Babbage', password: 'difference-engine' };
const XSS_NAME = '<img src=x onerror=window.__xss=1>';

let browser;
let page;

before(async () => {
  await startHost();
  browser = await launchBrowser();
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  await stopHost();
});

function row(email) {
  return page.locator('#rows tr', { hasText: email });
}

async function selectTab(name) {
  await page.getByRole('tab', { name }).click();
  await page.locator('#page-info').filter({ hasText: /Page/ }).waitFor();
  await page.locator('#developers[aria-busy="false"]').waitFor({ state: 'attached' });
}

async function expectCounts(expected) {
  for (const [status, count] of Object.entries(expected)) {
    await expectText(page.locator(`#count-${status}`), String(count));
  }
}

async function idOf(email) {
  const { status, body } = await adminApi('GET', `/developers/${email}`);
  assert.equal(status, 200, `GET /developers/${email} returned ${status}`);
  return body.id;
}

test('portal registration awaits approval', async () => {
  for (const developer of [ANN, BOB]) {
    const message = await registerThroughPortal(page, developer);
    assert.match(message, /awaits approval by an administrator/);
    assert.ok(message.includes(developer.email), message);
  }
  assert.deepEqual(await counts(), { approved: 0, requested: 2, rejected: 0, revoked: 0, total: 2 });

  await openAdmin(page, 'requested');
  await expectCounts({ requested: 2, approved: 0, revoked: 0, rejected: 0 });
  await row(ANN.email).waitFor();
  assert.equal(await row(ANN.email).locator('td').nth(1).textContent(), ANN.fullName);
  assert.equal(await row(BOB.email).locator('td').nth(1).textContent(), BOB.fullName);
});

test('accept and reject update the counts', async () => {
  await openAdmin(page, 'requested');
  await row(ANN.email).getByRole('button', { name: 'Accept' }).click();
  await expectCounts({ requested: 1, approved: 1 });
  await row(ANN.email).waitFor({ state: 'detached' });
  await expectTextContaining(page.getByRole('status'), `Accepted ${ANN.email}: now approved.`);

  await row(BOB.email).getByRole('button', { name: 'Reject' }).click();
  await expectCounts({ requested: 0, approved: 1, rejected: 1, revoked: 0 });
  await row(BOB.email).waitFor({ state: 'detached' });
  assert.equal(await page.locator('#rows tr').count(), 0);

  await selectTab('Approved');
  await row(ANN.email).waitFor();
  await selectTab('Rejected');
  await row(BOB.email).waitFor();
  assert.deepEqual(await counts(), { approved: 1, requested: 0, rejected: 1, revoked: 0, total: 2 });
});

test('revoke and re-approve', async () => {
  await openAdmin(page, 'approved');
  await row(ANN.email).getByRole('button', { name: 'Revoke' }).click();
  await expectCounts({ approved: 0, revoked: 1 });
  await row(ANN.email).waitFor({ state: 'detached' });

  await selectTab('Revoked');
  await row(ANN.email).getByRole('button', { name: 'Re-approve' }).click();
  await expectCounts({ approved: 1, revoked: 0 });
  await row(ANN.email).waitFor({ state: 'detached' });
  const { body } = await adminApi('GET', `/developers/${ANN.email}`);
  assert.equal(body.status_label, 'approved');
});

test('Email Developer is the exact mailto', async () => {
  await openAdmin(page, 'approved');
  const link = row(ANN.email).getByRole('link', { name: 'Email Developer' });
  await page.locator('#rows a.email-link[href]').waitFor();
  const portal = `http%3A%2F%2F127.0.0.1%3A${PORTS.portalGui}`;
  const expected =
    'mailto:ann@example.com' +
    `?subject=Your%20developer%20portal%20account%20is%20ready%20%28${portal}%29` +
    '&body=Hi%20Ann%20Lovelace%2C%0D%0A%0D%0AGood%20news%3A%20your%20request%20to%20join%20the%20' +
    `developer%20portal%20at%20${portal}%20has%20been%20approved.%0D%0A%0D%0A` +
    `Sign%20in%20here%3A%0D%0A${portal}%2Flogin%0D%0A%0D%0A` +
    'Your%20login%20email%20is%20ann@example.com.%0D%0A%0D%0AHappy%20building%21%0D%0A';
  const { body } = await adminApi('GET', `/developers/${ANN.email}/email`);
  assert.equal(body.mailto, expected, 'the Admin API returned another approved email');
  assert.equal(await link.getAttribute('href'), expected);
  assert.equal(await link.evaluate((a) => a.href), expected);
  assert.equal(await link.evaluate((a) => a.tagName), 'A');
});

test('delete asks for confirmation', async () => {
  await openAdmin(page, 'rejected');
  const deleteButton = row(BOB.email).getByRole('button', { name: 'Delete' });
  await deleteButton.click();
  const dialog = page.getByRole('dialog', { name: 'Delete developer' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Delete bob@example\.com\?/);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');

  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await deleteButton.evaluate((b) => b === document.activeElement), true);
  assert.equal((await adminApi('GET', `/developers/${BOB.email}`)).status, 200);

  await deleteButton.click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row(BOB.email).waitFor({ state: 'detached' });
  await expectCounts({ rejected: 0, approved: 1 });
  await expectTextContaining(page.getByRole('status'), `Deleted ${BOB.email}.`);
  assert.equal((await adminApi('GET', `/developers/${BOB.email}`)).status, 404);
});

test('full name with markup stays text', async () => {
  await createDeveloper('mallory@example.com', XSS_NAME);
  await page.evaluate(() => {
    delete window.__xss;
  });
  await openAdmin(page, 'requested');
  const cell = row('mallory@example.com').locator('td').nth(1);
  await cell.waitFor();
  assert.equal(await cell.textContent(), XSS_NAME);
  assert.equal(await page.locator('#rows img').count(), 0);

  await row('mallory@example.com').getByRole('link', { name: 'mallory@example.com', exact: true }).click();
  await expectText(page.locator('#detail-heading'), 'mallory@example.com');
  await expectTextContaining(page.locator('#detail'), XSS_NAME);
  assert.equal(await page.locator('#detail img').count(), 0);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test('developer view shows status history', async () => {
  await openAdmin(page, 'approved');
  await row(ANN.email).getByRole('link', { name: ANN.email, exact: true }).click();
  await expectText(page.locator('#detail-heading'), ANN.email);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'detail-heading');
  await page.locator('#history tr').nth(3).waitFor();

  const history = await page.locator('#history tr').evaluateAll((rows) =>
    rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent, r.cells[3].textContent]));
  assert.deepEqual(history, [
    ['(created)', 'Requested', 'registration'],
    ['Requested', 'Approved', 'admin-api'],
    ['Approved', 'Revoked', 'admin-api'],
    ['Revoked', 'Approved', 'admin-api'],
  ]);
  const when = await page.locator('#history tr time').first().getAttribute('datetime');
  assert.match(when, /^\d{4}-\d\d-\d\dT/);
  await expectTextContaining(page.locator('#detail'), ANN.fullName);

  await page.getByRole('link', { name: 'Back to developers' }).click();
  await page.locator('#list-view').waitFor();
  await row(ANN.email).waitFor();
});

test('409 from the server is shown', async () => {
  await createDeveloper('cara@example.com', 'Cara Conflict');
  await openAdmin(page, 'requested');
  const id = await idOf('cara@example.com');

  // Another admin approves Cara after the page's check and before its PATCH.
  await page.route(`**/api/developers/${id}`, async (route) => {
    if (route.request().method() === 'PATCH') {
      const approved = await adminApi('PATCH', `/developers/${id}`, { status: 0 });
      assert.equal(approved.status, 200);
    }
    await route.continue();
  });
  try {
    await row('cara@example.com').getByRole('button', { name: 'Reject' }).click();
    const alert = page.locator('#alert[role="alert"]');
    const text = await expectTextContaining(alert, 'cannot change the status');
    const { status, body } = await adminApi('PATCH', `/developers/${id}`, { status: 2 });
    assert.equal(status, 409);
    assert.ok(text.includes(body.message), `alert ${JSON.stringify(text)} lacks the server's message`);
    assert.ok(await alert.isVisible());
  } finally {
    await page.unroute(`**/api/developers/${id}`);
  }
  await row('cara@example.com').waitFor({ state: 'detached' });
  assert.equal((await adminApi('GET', `/developers/${id}`)).body.status_label, 'approved');
});

test('change by another admin is reported', async () => {
  await createDeveloper('dan@example.com', 'Dan Duplicate');
  await openAdmin(page, 'requested');
  await row('dan@example.com').waitFor();
  assert.equal((await adminApi('PATCH', '/developers/dan@example.com', { status: 'rejected' })).status, 200);

  await row('dan@example.com').getByRole('button', { name: 'Accept' }).click();
  await expectTextContaining(page.getByRole('alert').first(), 'dan@example.com is now rejected');
  assert.equal((await adminApi('GET', '/developers/dan@example.com')).body.status_label, 'rejected');
  await row('dan@example.com').waitFor({ state: 'detached' });
  await expectCounts({ rejected: 1 });
});

test('tabs work with the keyboard', async () => {
  await openAdmin(page, 'requested');
  const requested = page.getByRole('tab', { name: 'Requested Access' });
  await requested.focus();

  const steps = [
    ['ArrowRight', 'approved'],
    ['ArrowRight', 'revoked'],
    ['End', 'rejected'],
    ['ArrowRight', 'requested'],
    ['ArrowLeft', 'rejected'],
    ['Home', 'requested'],
  ];
  for (const [key, expected] of steps) {
    await page.keyboard.press(key);
    const focused = await page.evaluate(() => ({
      tab: document.activeElement.dataset.tab,
      selected: document.activeElement.getAttribute('aria-selected'),
      panel: document.getElementById('panel').getAttribute('aria-labelledby'),
    }));
    assert.deepEqual(focused, { tab: expected, selected: 'true', panel: `tab-${expected}` }, `after ${key}`);
  }
  assert.equal(await page.locator('[role="tab"][tabindex="0"]').count(), 1);

  // Tab leaves the tab list for the panel's first control.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
});

test('search filters by email or name', async () => {
  await createDeveloper('erin@example.org', 'Erin Searchable');
  await openAdmin(page, 'requested');
  await page.getByLabel('Search by email or name').fill('searchable');
  await expectText(page.locator('#page-info'), 'Page 1 of 1 · 1 matching developer');
  assert.equal(await page.locator('#rows tr').count(), 1);
  await row('erin@example.org').waitFor();

  await page.getByLabel('Search by email or name').fill('nobody-matches-this');
  await expectText(page.locator('#page-info'), 'Page 1 of 1 · 0 matching developers');
  assert.ok(await page.locator('#empty').isVisible());
});

test('screenshots of each tab', async () => {
  await createDeveloper('grace@example.com', 'Grace Hopper', 'approved');
  await createDeveloper('linus@example.com', 'Linus Torvalds', 'requested');
  await createDeveloper('ken@example.com', 'Ken Thompson', 'approved');
  assert.equal((await adminApi('PATCH', '/developers/ken@example.com', { status: 3 })).status, 200);

  const tabs = [
    ['requested', 'Requested Access'],
    ['approved', 'Approved'],
    ['revoked', 'Revoked'],
    ['rejected', 'Rejected'],
  ];
  await openAdmin(page, 'requested');
  for (const [name, title] of tabs) {
    await selectTab(title);
    assert.equal(await page.getByRole('tab', { name: title }).getAttribute('aria-selected'), 'true');
    assert.ok((await page.locator('#rows tr').count()) > 0, `${title} has no rows`);
    if (name === 'approved') {
      await page.locator('#rows a.email-link[href]').first().waitFor();
    }
    await screenshot(page, `admin-${name}`);
  }
});
