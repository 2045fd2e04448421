// The shared set-up of the browser tests: `argus demo` started as a child
// process (4 simulated cameras, recording), the demo users' passwords read
// from what it prints, and headless Chromium (Debian's, via playwright-core).
//
// ARGUS_SCREENSHOTS=1 makes screenshot() write docs/screenshots/<name>.png at
// 1920x1080 (committed; CI does not set it, so it never rewrites them).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.ARGUS_SCREENSHOTS ? join(root, 'docs', 'screenshots') : '';

/**
 * startDemo builds argus (unless ARGUS_BIN names a binary), starts the demo
 * and Chromium, and returns { base, passwords: {user: password}, browser,
 * stop }.
 */
export async function startDemo() {
  const dataDir = mkdtempSync(join(tmpdir(), 'argus-e2e-'));
  const bin = buildArgus(dataDir);
  const env = { ...argusEnv(), ARGUS_LIVE_WEBRTC_UDP_PORT: '0' };
  const demo = spawn(bin, ['demo', '--data', join(dataDir, 'data'), '--listen', '127.0.0.1:0', '--sim-listen', '127.0.0.1:0', '--rtsp-listen', '127.0.0.1:0', '--cameras', '4', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  const { base, passwords } = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('argus demo printed no URL within 60 s:\n' + out)), 60000);
    demo.stdout.on('data', (b) => {
      out += b;
      const url = out.match(/API:\s+(http:\/\/[^/\s]+)\//);
      // "    admin        PASSWORD  admin, system", one line per demo user, ending with the owner.
      const users = [...out.matchAll(/\n\s+([a-z]+)\s+([A-Z0-9]{16,})\s+\S+, \S+/g)];
      if (url && users.some((m) => m[1] === 'owner')) {
        clearTimeout(timer);
        resolve({ base: url[1], passwords: Object.fromEntries(users.map((m) => [m[1], m[2]])) });
      }
    });
    demo.on('exit', (code) => reject(new Error('argus demo exited with ' + code + ':\n' + out)));
  });
  const browser = await launchBrowser();
  if (shots) mkdirSync(shots, { recursive: true });
  return {
    base, passwords, browser,
    async stop() {
      await browser.close();
      demo.kill('SIGTERM');
      if (demo.exitCode === null) await new Promise((r) => demo.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// buildArgus builds argus into dir and returns its path, or returns
// ARGUS_BIN when that names a binary.
export function buildArgus(dir) {
  if (process.env.ARGUS_BIN) return process.env.ARGUS_BIN;
  const bin = join(dir, 'argus');
  execFileSync('go', ['build', '-o', bin, './cmd/argus'], { cwd: root, stdio: 'inherit' });
  return bin;
}

// argusEnv is the environment for an argus child: argus refuses ARGUS_*
// variables that are not settings, so the tests' own are left out.
export function argusEnv() {
  const env = { ...process.env };
  for (const k of ['ARGUS_SCREENSHOTS', 'ARGUS_BIN', 'ARGUS_MAP_CAMERAS']) delete env[k];
  return env;
}

// launchBrowser starts headless Chromium (CHROMIUM, else Debian's).
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
}

// newPage opens a fresh context (its own cookies and localStorage) at
// 1920x1080 that reports the browser's errors and CSP violations.
export async function newPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, acceptDownloads: true });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('browser:', m.text()); });
  page.on('pageerror', (e) => console.log('browser exception:', e.message));
  return page;
}

// signIn signs in with the form and waits for the top bar.
export async function signIn(page, url, username, password) {
  await page.goto(url);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('form#login button[type=submit]');
  await page.locator('#topbar').waitFor({ state: 'visible', timeout: 10000 });
}

export async function screenshot(page, name) {
  if (shots) await page.screenshot({ path: join(shots, name + '.png') });
}

// answer fills the open dialog's field and confirms it.
export async function answer(page, text) {
  await page.locator('dialog.ask input').waitFor({ timeout: 5000 });
  await page.fill('dialog.ask input', text);
  await page.click('dialog.ask button[type=submit]');
  await page.locator('dialog.ask').waitFor({ state: 'detached', timeout: 5000 });
}

// playing resolves when the video has its picture and its clock moves.
export async function assertPlaying(page, selector) {
  await page.waitForFunction((sel) => {
    const v = document.querySelector(sel);
    return v && v.currentTime > 1 && v.videoWidth > 0;
  }, selector, { timeout: 20000 });
  const t0 = await page.$eval(selector, (v) => v.currentTime);
  await page.waitForFunction(([sel, t]) => document.querySelector(sel).currentTime > t + 0.5, [selector, t0], { timeout: 5000 });
  return page.$eval(selector, (v) => ({ w: v.videoWidth, h: v.videoHeight, via: v.dataset.transport }));
}
