// Shared setup of the browser tests: a host on the test ports with a fresh
// store, Debian's Chromium driven by playwright-core, and Admin API calls
// for arranging data outside the page.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// Under /tmp: the host's workers run as nobody when the tests run as root, and
// the repository may live in a folder they cannot enter.
export const PREFIX = path.join(tmpdir(), 'developer-portal-browser' + REPO.replace(/[^\w]/g, '-'));
// BROWSER_PORT_BASE moves every port (9000 by default), so that the browser
// tests can run beside another host that uses the default test ports.
const PORT_BASE = Number(process.env.BROWSER_PORT_BASE || 9000);
export const PORTS = {
  admin: PORT_BASE + 1,
  portalApi: PORT_BASE + 4,
  proxy: PORT_BASE,
  gui: PORT_BASE + 2,
  portalGui: PORT_BASE + 3,
  upstream: PORT_BASE + 10,
};
export const ADMIN_API = `http://127.0.0.1:${PORTS.admin}`;
export const ADMIN_GUI = `http://127.0.0.1:${PORTS.gui}`;
export const PORTAL_GUI = `http://127.0.0.1:${PORTS.portalGui}`;

const HOST_ENV = {
  ...process.env,
  HOST_ADMIN_PORT: String(PORTS.admin),
  HOST_PORTAL_API_PORT: String(PORTS.portalApi),
  HOST_PROXY_PORT: String(PORTS.proxy),
  HOST_GUI_PORT: String(PORTS.gui),
  HOST_PORTAL_GUI_PORT: String(PORTS.portalGui),
  HOST_UPSTREAM_PORT: String(PORTS.upstream),
};

const KONG_CONF = `# Written by the browser tests.
portal_auth = basic-auth
portal_auto_approve = off
portal_gui_protocol = http
portal_gui_host = 127.0.0.1:${PORTS.portalGui}
`;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function hostRun(...args) {
  await run(path.join(REPO, 'host/run'), args, { env: HOST_ENV, cwd: REPO });
}

async function waitForUrl(url, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) {
        return;
      }
      lastError = new Error(`HTTP ${response.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not respond within ${timeoutMs} ms: ${lastError && lastError.message}`);
}

/** Starts the host on the test ports with an empty store and waits until it responds. */
export async function startHost() {
  await stopHost();
  await rm(PREFIX, { recursive: true, force: true });
  await mkdir(PREFIX, { recursive: true });
  const conf = path.join(PREFIX, 'kong.conf');
  await writeFile(conf, KONG_CONF);
  await hostRun('start', '--prefix', PREFIX, '--conf', conf);
  await waitForUrl(`${ADMIN_API}/developers/counts`);
  await waitForUrl(`${ADMIN_GUI}/`);
  await waitForUrl(`${PORTAL_GUI}/register`);
}

export async function stopHost() {
  await hostRun('stop', '--prefix', PREFIX);
}

/** Launches Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'developer-portal-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 760 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(10000);
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (err) => {
        console.error(`page error on ${page.url()}: ${err.message}`);
      });
      return page;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Sends one Admin API request and returns {status, body}. */
export async function adminApi(method, urlPath, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(ADMIN_API + urlPath, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Creates a developer through the Admin API and returns it. */
export async function createDeveloper(email, fullName, status = 'requested') {
  const { status: code, body } = await adminApi('POST', '/developers', {
    email,
    password: 'correct-horse',
    meta: { full_name: fullName },
    status,
  });
  if (code !== 201) {
    throw new Error(`creating ${email} returned ${code}: ${JSON.stringify(body)}`);
  }
  return body;
}

/** Returns the counts per status from the Admin API. */
export async function counts() {
  return (await adminApi('GET', '/developers/counts')).body;
}

/** Saves a screenshot to docs/screenshots/NAME.png when SCREENSHOTS=1. */
export async function screenshot(page, name) {
  if (process.env.SCREENSHOTS !== '1') {
    return;
  }
  const dir = path.join(REPO, 'docs/screenshots');
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/** Waits until the locator's trimmed text equals `expected`, then asserts it. */
export async function expectText(locator, expected, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let actual;
  do {
    actual = ((await locator.textContent()) ?? '').trim();
    if (actual === expected) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < deadline);
  if (actual !== expected) {
    throw new Error(`expected text ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Waits until the locator's text contains `expected` and returns the whole text. */
export async function expectTextContaining(locator, expected, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let actual;
  do {
    actual = (await locator.textContent()) ?? '';
    if (actual.includes(expected)) {
      return actual;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < deadline);
  throw new Error(`expected text containing ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Opens the Admin GUI on a tab and waits for its first load. */
export async function openAdmin(page, tab = 'requested') {
  // A goto that only changes the hash would not reload the page.
  await page.goto('about:blank');
  await page.goto(`${ADMIN_GUI}/#${tab}`);
  await page.locator('#developers[aria-busy="false"]').waitFor({ state: 'attached' });
  await page.locator('#page-info').filter({ hasText: /Page/ }).waitFor();
}

/** Registers a developer through the portal's register page and returns the result text. */
export async function registerThroughPortal(page, developer) {
  await submitRegisterForm(page, developer);
  const result = page.locator('#result');
  await result.filter({ hasText: developer.email }).waitFor();
  return (await result.textContent()).trim();
}

/** Fills in and submits the portal's register page. */
export async function submitRegisterForm(page, { email, fullName, password }) {
  await page.goto(`${PORTAL_GUI}/register`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Full name').fill(fullName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Register' }).click();
}
