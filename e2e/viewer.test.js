// The live viewer in a real browser: `argus demo` is started as a child
// process, headless Chromium signs in as the demo admin, opens a camera and
// must see its <video> play (currentTime advancing, the clip's width).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let demo, base, password, dataDir, browser;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'argus-e2e-'));
  const bin = process.env.ARGUS_BIN || join(dataDir, 'argus');
  if (!process.env.ARGUS_BIN) execFileSync('go', ['build', '-o', bin, './cmd/argus'], { cwd: root, stdio: 'inherit' });
  demo = spawn(bin, ['demo', '--data', join(dataDir, 'data'), '--listen', '127.0.0.1:0', '--sim-listen', '127.0.0.1:0', '--rtsp-listen', '127.0.0.1:0', '--cameras', '4', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ARGUS_LIVE_WEBRTC_UDP_PORT: '0' } });
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('argus demo printed no URL within 60 s:\n' + out)), 60000);
    demo.stdout.on('data', (b) => {
      out += b;
      const url = out.match(/API:\s+(http:\/\/[^/\s]+)\//);
      const pw = out.match(/\n\s+admin\s+(\S+)/);
      if (url && pw) { clearTimeout(timer); base = url[1]; password = pw[1]; resolve(); }
    });
    demo.on('exit', (code) => reject(new Error('argus demo exited with ' + code + ':\n' + out)));
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (demo) { demo.kill('SIGTERM'); await new Promise((r) => demo.once('exit', r)); }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

for (const [via, path] of [['whep', '/'], ['llhls', '/?via=hls']]) {
test(`a signed-in user sees a camera play live over ${via}`, async () => {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('browser:', m.text()); });
  await page.goto(base + path);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', password);
  await page.click('form#login button[type=submit]');
  const first = page.locator('#cameras button').first();
  await first.waitFor({ timeout: 10000 });
  await first.click();
  // Playing: the clock advances past a second and the picture has the clip's size.
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 1 && v.videoWidth > 0;
  }, null, { timeout: 20000 });
  const v = await page.evaluate(() => {
    const el = document.getElementById('video');
    return { t: el.currentTime, w: el.videoWidth, h: el.videoHeight, via: el.dataset.transport };
  });
  assert.equal(v.via, via);
  assert.equal(v.w, 640);
  assert.equal(v.h, 360);
  const t0 = v.t;
  await page.waitForTimeout(1500);
  const t1 = await page.evaluate(() => document.getElementById('video').currentTime);
  assert.ok(t1 > t0 + 0.5, `currentTime did not advance: ${t0} → ${t1}`);
  console.log(`played over ${v.via}: ${v.w}x${v.h}, currentTime ${t0.toFixed(2)} → ${t1.toFixed(2)}`);
  await page.close();
});
}

test('the page asks for a sign-in and refuses a wrong password', async () => {
  const page = await browser.newPage();
  await page.goto(base + '/');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('form#login button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, { timeout: 10000 });
  assert.equal(await page.isVisible('#app'), false);
});

test('recorded video plays back in the browser from the HLS VOD playlist', async () => {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('browser:', m.text()); });
  await page.goto(base + '/');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', password);
  await page.click('form#login button[type=submit]');
  await page.locator('#cameras button').first().waitFor({ timeout: 10000 });
  // Wait until the first camera has a few seconds recorded, then play them
  // back with hls.js (the viewer page loads it) over the session cookie.
  const result = await page.evaluate(async () => {
    const cams = await (await fetch('/api/v1/cameras?limit=1')).json();
    const id = cams.items[0].id;
    const q = (from, to) => `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    let range;
    for (let i = 0; i < 100 && !range; i++) {
      const now = new Date();
      const tl = await (await fetch(`/api/v1/cameras/${id}/timeline?${q(new Date(now - 3600e3), now)}`)).json();
      const r = (tl.ranges || [])[0];
      if (r && new Date(r.to) - new Date(r.from) > 4000) range = r;
      else await new Promise((res) => setTimeout(res, 200));
    }
    if (!range) return { error: 'nothing recorded within 20 s' };
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    const hls = new window.Hls();
    hls.loadSource(`/api/v1/cameras/${id}/playback/index.m3u8?${q(new Date(range.from), new Date(range.to))}&reason=e2e`);
    hls.attachMedia(video);
    await video.play().catch(() => {});
    for (let i = 0; i < 100; i++) {
      if (video.currentTime > 1.5 && video.videoWidth > 0) return { t: video.currentTime, w: video.videoWidth, h: video.videoHeight };
      await new Promise((res) => setTimeout(res, 200));
    }
    return { error: `not playing: currentTime ${video.currentTime}, width ${video.videoWidth}` };
  });
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.w, 640);
  assert.equal(result.h, 360);
  console.log(`played back: ${result.w}x${result.h}, currentTime ${result.t.toFixed(2)}`);
  await page.close();
});
