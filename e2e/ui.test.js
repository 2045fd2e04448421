// The operator UI in a real browser: `argus demo` is started as a child
// process (4 simulated cameras, recording), headless Chromium signs in as the
// demo admin and drives the map, the wall, playback and export.
//
// ARGUS_SCREENSHOTS=1 also writes docs/screenshots/{map,wall,playback}.png
// at 1920x1080 (committed; CI does not set it, so it never rewrites them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { answer, assertPlaying, newPage as openPage, screenshot, signIn as signInAs, startDemo } from './harness.js';

let demo, base, password;

before(async () => {
  demo = await startDemo();
  base = demo.base;
  password = demo.passwords.admin;
});

after(async () => {
  if (demo) await demo.stop();
});

const newPage = () => openPage(demo.browser);
const signIn = (page, path = '/') => signInAs(page, base + path, 'admin', password);

test('the page asks for a sign-in and refuses a wrong password in words', async () => {
  const page = await newPage();
  await page.goto(base + '/');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('form#login button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, { timeout: 10000 });
  assert.match(await page.textContent('#login-error'), /user name or password is wrong/);
  assert.equal(await page.isVisible('#app'), false);
  await page.close();
});

test('the map shows the demo cameras and opens one', async () => {
  const page = await newPage();
  await signIn(page, '/#/map');
  // All four cameras drawn as points by maplibre (counted from what it rendered).
  await page.locator('.map[data-rendered="4"]').waitFor({ state: 'attached', timeout: 20000 });
  assert.equal(await page.getAttribute('.map', 'data-mode'), 'points');
  // Their state comes from the health of each camera in view: recording cameras are online.
  await page.waitForFunction(() => document.querySelector('.map').dataset.cameras === '4', null, { timeout: 5000 });
  await page.locator('.map-pane').waitFor();
  // Searching and picking a camera shows its card with links to the wall and playback.
  await page.fill('.sidebar input[type=search]', 'cam-0000003');
  await page.locator('.sidebar button[data-camera="cam-0000003"]').click();
  await page.locator('.card[data-camera="cam-0000003"] a[href="#/playback/cam-0000003"]').waitFor({ timeout: 5000 });
  await page.waitForTimeout(1500); // the move's new points and their health are drawn
  await screenshot(page, 'map');
  await page.close();
});

test('a 2x2 wall plays four cameras live over WHEP', async () => {
  const page = await newPage();
  await signIn(page, '/#/wall');
  await page.click('button[data-layout="2"]');
  const items = page.locator('.sidebar ul.cameras button');
  await items.nth(3).waitFor({ timeout: 10000 });
  for (let i = 0; i < 4; i++) await items.nth(i).click();
  assert.equal(await page.locator('.wall .tile video').count(), 4);
  for (let i = 0; i < 4; i++) {
    const v = await assertPlaying(page, `.wall .tile[data-index="${i}"] video`);
    assert.equal(v.via, 'whep', `tile ${i}`);
    assert.equal(v.w, 640);
    assert.equal(v.h, 360);
  }
  await page.locator('.tile[data-index="3"] .badge.playing').waitFor({ timeout: 5000 });
  await screenshot(page, 'wall');
  // The layout is saved per user: a reload shows the same wall.
  await page.reload();
  await page.locator('.wall[data-layout="2x2"] .tile[data-index="3"] video').waitFor({ timeout: 10000 });
  await page.close();
});

test('a wall tile falls back to LL-HLS', async () => {
  const page = await newPage();
  await signIn(page, '/?via=hls#/wall');
  await page.click('button[data-layout="1"]');
  await page.locator('.sidebar ul.cameras button').first().click();
  const v = await assertPlaying(page, '.wall .tile[data-index="0"] video');
  assert.equal(v.via, 'llhls');
  assert.equal(v.w, 640);
  await page.close();
});

test('playback seeks on the timeline, plays from there, and exports a clip', async () => {
  const page = await newPage();
  await signIn(page, '/#/map');
  const id = await page.evaluate(async () => {
    const cams = await (await fetch('/api/v1/cameras?recording=true&limit=1')).json();
    return cams.items[0].id;
  });
  await page.goto(base + '/#/playback/' + id);
  const canvas = page.locator('canvas.timeline');
  // Wait for a recorded range long enough to seek into, then click 8 s before its end.
  let range;
  for (let i = 0; i < 60 && !range; i++) {
    range = await page.evaluate(async (cam) => {
      const now = Date.now();
      const q = `from=${new Date(now - 3600e3).toISOString()}&to=${new Date(now).toISOString()}`;
      const r = ((await (await fetch(`/api/v1/cameras/${cam}/timeline?${q}`)).json()).ranges || [])[0];
      return r && Date.parse(r.to) - Date.parse(r.from) > 14000 ? { from: Date.parse(r.from), to: Date.parse(r.to) } : null;
    }, id);
    if (!range) await page.waitForTimeout(500);
  }
  assert.ok(range, 'nothing recorded within 30 s');
  await page.waitForFunction(() => Number(document.querySelector('canvas.timeline').dataset.ranges) > 0, null, { timeout: 15000 });
  const target = range.to - 8000;
  const box = await canvas.boundingBox();
  const view = await canvas.evaluate((c) => ({ from: Number(c.dataset.from), to: Number(c.dataset.to) }));
  const x = ((target - view.from) / (view.to - view.from)) * box.width;
  await canvas.click({ position: { x, y: box.height / 2 } });
  await answer(page, 'e2e case 42');
  await assertPlaying(page, 'video.playback-video');
  // It plays from the instant clicked: the recorded clock is within a few seconds of it.
  const wall = await page.$eval('video.playback-video', (v) => Number(v.dataset.wall));
  const clicked = view.from + (Math.round(x) / box.width) * (view.to - view.from);
  assert.ok(wall >= clicked - 1000 && wall < clicked + 6000, `playing at ${new Date(wall).toISOString()}, clicked ${new Date(clicked).toISOString()}`);

  // Mark in, play two seconds, mark out, export with a reason, download the bundle.
  await page.click('button:has-text("[ In")');
  const markIn = await page.$eval('video.playback-video', (v) => Number(v.dataset.wall));
  await page.waitForFunction((t) => Number(document.querySelector('video.playback-video').dataset.wall) > t + 2000, markIn, { timeout: 10000 });
  await page.click('button:has-text("Out ]")');
  await page.click('button[data-action=export]');
  assert.equal(await page.inputValue('dialog.ask input'), 'e2e case 42');
  await answer(page, 'e2e case 42: export');
  const link = page.locator('.export[data-state=done] a.download');
  await link.waitFor({ timeout: 60000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const bytes = readFileSync(await download.path());
  assert.ok(bytes.length > 1000, `bundle of ${bytes.length} bytes`);
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  console.log(`exported ${download.suggestedFilename()}: ${bytes.length} bytes`);
  await page.click('button:has-text("1 min")');
  await screenshot(page, 'playback');
  await page.close();
});
