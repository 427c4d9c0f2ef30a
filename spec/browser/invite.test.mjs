// The Invite Developers dialog: keyboard behaviour, the preview of a pasted
// list, and the mailto: links it produces.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ADMIN_GUI,
  PORTS,
  adminApi,
  counts,
  createDeveloper,
  expectTextContaining,
  launchBrowser,
  openAdmin,
  screenshot,
  startHost,
  stopHost,
} from './support/harness.mjs';

const PASTED_LIST = [
  'new1@example.com, not-an-address',
  'NEW1@example.com; Registered@Example.com',
  'new2@example.org',
].join('\n');

let browser;
let page;

before(async () => {
  await startHost();
  browser = await launchBrowser();
  page = await browser.newPage();
  await createDeveloper('registered@example.com', 'Already Here');
});

after(async () => {
  await browser?.close();
  await stopHost();
});

const dialog = () => page.getByRole('dialog', { name: 'Invite Developers' });

async function openInvite() {
  await openAdmin(page, 'requested');
  await page.getByRole('button', { name: 'Invite Developers' }).click();
  await dialog().waitFor();
}

function activeId() {
  return page.evaluate(() => document.activeElement.id);
}

test('invite dialog keeps and restores focus', async () => {
  await openInvite();
  assert.equal(await activeId(), 'invite-emails');

  // Invite is disabled while the list is empty, so Tab cycles over the
  // textarea and Close only.
  const seen = [];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    seen.push(await activeId());
  }
  assert.deepEqual(seen, ['invite-cancel', 'invite-emails', 'invite-cancel', 'invite-emails', 'invite-cancel']);
  await page.keyboard.press('Shift+Tab');
  assert.equal(await activeId(), 'invite-emails');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await activeId(), 'invite-cancel');

  await page.keyboard.press('Escape');
  await dialog().waitFor({ state: 'hidden' });
  assert.equal(await activeId(), 'invite-open');
});

test('preview lists invalid, duplicate and registered addresses', async () => {
  const before = await counts();
  await openInvite();
  await page.getByLabel('Email addresses').fill(PASTED_LIST);
  const preview = page.locator('#invite-preview');
  await preview.getByRole('heading', { name: 'Already registered (1)' }).waitFor();

  const groups = await preview.locator('section').evaluateAll((sections) =>
    sections.map((s) => ({
      title: s.querySelector('h3').textContent,
      items: [...s.querySelectorAll('li')].map((li) => li.textContent),
    })));
  assert.deepEqual(groups, [
    { title: 'Will be invited (2)', items: ['new1@example.com', 'new2@example.org'] },
    { title: 'Invalid (1)', items: ['not-an-address — missing \'@\' symbol'] },
    { title: 'Duplicates (1)', items: ['NEW1@example.com — duplicate of \'new1@example.com\''] },
    { title: 'Already registered (1)', items: ['registered@example.com — Requested'] },
  ]);
  assert.equal(await page.getByRole('button', { name: 'Invite', exact: true }).isEnabled(), true);
  await screenshot(page, 'admin-invite');
  assert.deepEqual(await counts(), before, 'the preview changed the developers');
});

test('Invite produces the exact mailto', async () => {
  await openInvite();
  await page.getByLabel('Email addresses').fill(PASTED_LIST);
  await page.locator('#invite-preview h3').first().waitFor();
  await page.getByRole('button', { name: 'Invite', exact: true }).click();

  const link = dialog().getByRole('link', { name: 'Open message' });
  await link.waitFor();
  const portal = `http%3A%2F%2F127.0.0.1%3A${PORTS.portalGui}`;
  const expected =
    'mailto:?bcc=new1@example.com,new2@example.org' +
    `&subject=You%27re%20invited%20to%20the%20developer%20portal%20at%20${portal}` +
    '&body=Hi%20there%2C%0D%0A%0D%0AWe%27d%20like%20you%20to%20join%20our%20developer%20portal%20at%20' +
    `${portal}.%20It%20lists%20our%20APIs%20with%20their%20documentation%2C%20and%20once%20your%20` +
    'account%20is%20active%20you%20can%20create%20your%20own%20API%20credentials%20there.%0D%0A%0D%0A' +
    `Create%20your%20account%20here%3A%0D%0A${portal}%2Fregister%0D%0A%0D%0ASee%20you%20there%21%0D%0A`;
  assert.equal(await link.getAttribute('href'), expected);
  assert.equal(await link.evaluate((a) => a.href), expected);
  assert.equal(await dialog().getByRole('link').count(), 1);
  // Opening the mailto: leaves the page where it was.
  assert.ok(page.url().startsWith(ADMIN_GUI), page.url());
});

test('long list is split into several messages', async () => {
  const addresses = Array.from({ length: 120 }, (_, i) => `invitee-${String(i).padStart(3, '0')}@example.net`);
  const { body } = await adminApi('POST', '/developers/invite', { emails: addresses.join(',') });
  assert.ok(body.links.length > 1, `the Admin API returned ${body.links.length} link(s) for 120 addresses`);

  await openInvite();
  await page.getByLabel('Email addresses').fill(addresses.join(', '));
  await expectTextContaining(page.locator('#invite-preview'), 'Will be invited (120)');
  await page.getByRole('button', { name: 'Invite', exact: true }).click();

  const count = body.links.length;
  const links = dialog().locator('#invite-links a');
  await links.first().waitFor();
  assert.equal(await links.count(), count);
  for (let i = 0; i < count; i++) {
    const link = links.nth(i);
    assert.equal(await link.textContent(), `Open message ${i + 1} of ${count}`);
    assert.equal(await link.getAttribute('href'), body.links[i]);
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), `Open message 1 of ${count}`);
});
