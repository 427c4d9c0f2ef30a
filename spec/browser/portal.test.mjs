// The portal's register and login pages against a real host.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  PORTAL_GUI,
  adminApi,
  expectTextContaining,
  launchBrowser,
  registerThroughPortal,
  screenshot,
  startHost,
  submitRegisterForm,
  stopHost,
} from './support/harness.mjs';

const ADA = { email: 'ada@example.com', fullName: 'Ada Byron', password: 'notes-on-the-engine' };

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

async function logIn(email, password) {
  await page.goto(`${PORTAL_GUI}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('register page says access awaits approval', async () => {
  await page.goto(`${PORTAL_GUI}/register`);
  await screenshot(page, 'portal-register');
  const message = await registerThroughPortal(page, ADA);
  assert.equal(
    message,
    'Thank you, Ada Byron: your registration as ada@example.com awaits approval by an administrator. ' +
      'You can log in once it is approved.',
  );
  const { body } = await adminApi('GET', `/developers/${ADA.email}`);
  assert.equal(body.status_label, 'requested');
  assert.equal(body.full_name, ADA.fullName);
});

test('register shows the server message', async () => {
  await submitRegisterForm(page, { ...ADA, password: 'another-password' });
  const alert = page.getByRole('alert');
  const text = await expectTextContaining(alert, 'already exists');
  assert.match(text, /ada@example\.com/);
});

test('register checks fields before sending', async () => {
  await page.goto(`${PORTAL_GUI}/register`);
  await page.getByLabel('Email').fill('short@example.com');
  await page.getByLabel('Full name').fill('Short Password');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Register' }).click();
  await expectTextContaining(page.getByRole('alert'), 'Password');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  assert.equal((await adminApi('GET', '/developers/short@example.com')).status, 404);
});

test('login refused while requested', async () => {
  await logIn(ADA.email, ADA.password);
  const alert = page.getByRole('alert');
  const text = await expectTextContaining(alert, 'awaiting approval');
  const response = await fetch(`${PORTAL_GUI}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADA.email, password: ADA.password }),
  });
  assert.equal(response.status, 401);
  assert.equal(text.trim(), (await response.json()).message);
});

test('login refused with wrong password', async () => {
  await logIn(ADA.email, 'not-the-password');
  await expectTextContaining(page.getByRole('alert'), 'invalid email or credentials');
});

test('login refused after revocation', async () => {
  assert.equal((await adminApi('PATCH', `/developers/${ADA.email}`, { status: 0 })).status, 200);
  assert.equal((await adminApi('PATCH', `/developers/${ADA.email}`, { status: 3 })).status, 200);
  await logIn(ADA.email, ADA.password);
  await expectTextContaining(page.getByRole('alert'), 'your access has been revoked');
});

test('login works once approved', async () => {
  assert.equal((await adminApi('PATCH', `/developers/${ADA.email}`, { status: 0 })).status, 200);
  await logIn(ADA.email, ADA.password);
  const text = await expectTextContaining(page.getByRole('status'), 'You are logged in as ada@example.com');
  assert.match(text, /Welcome, Ada Byron\./);
  assert.equal(await page.locator('#error').textContent(), '');
});

test('register works with the keyboard only', async () => {
  await page.goto(`${PORTAL_GUI}/register`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
  await page.keyboard.type('keys@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Kay Board');
  await page.keyboard.press('Tab');
  await page.keyboard.type('typed-on-keys');
  await page.keyboard.press('Enter');
  await expectTextContaining(page.getByRole('status'), 'keys@example.com awaits approval');
});

test('portal pages are served at their paths', async () => {
  for (const [path, heading] of [['/register', 'Register'], ['/login', 'Log in'], ['/', 'Developer portal']]) {
    const response = await page.goto(`${PORTAL_GUI}${path}`);
    assert.equal(response.status(), 200, path);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), heading);
  }
});
