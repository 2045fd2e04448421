// The video wall in a real browser, on `argus demo` (4 simulated cameras,
// recording), as the demo admin: each live tile's latency and state, a
// snapshot, drag and drop from the camera list and between tiles, the keys,
// and the whole wall played back in step on one timeline.
//
// ARGUS_SCREENSHOTS=1 also writes docs/screenshots/wall-playback.png at
// 1920x1080 (committed; CI does not set it, so it never rewrites them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { answer, assertPlaying, newPage as openPage, screenshot, signIn as signInAs, startDemo } from './harness.js';

let demo, base, password, cameras;

before(async () => {
  demo = await startDemo();
  base = demo.base;
  password = demo.passwords.admin;
});

after(async () => {
  if (demo) await demo.stop();
});

const newPage = () => openPage(demo.browser);

// wall signs in, opens a 2x2 wall and puts the four demo cameras on it by
// clicking them in the list (the first four; their ids are kept in cameras).
async function wall(path = '/#/wall') {
  const page = await newPage();
  await signInAs(page, base + path, 'admin', password);
  await page.click('button[data-layout="2"]');
  const items = page.locator('.sidebar ul.cameras button');
  await items.nth(3).waitFor({ timeout: 10000 });
  cameras = await items.evaluateAll((bs) => bs.slice(0, 4).map((b) => b.dataset.camera));
  for (let i = 0; i < 4; i++) await items.nth(i).click();
  return page;
}

test('each live tile shows its camera, "live" and a latency in milliseconds', async () => {
  const page = await wall();
  for (let i = 0; i < 4; i++) {
    const tile = `.wall .tile[data-index="${i}"]`;
    assert.equal(await page.getAttribute(tile, 'data-camera'), cameras[i]);
    await assertPlaying(page, tile + ' video');
    await page.locator(tile + '[data-latency]').waitFor({ timeout: 10000 });
    const ms = Number(await page.getAttribute(tile, 'data-latency'));
    assert.ok(Number.isFinite(ms) && ms > 0 && ms < 5000, `tile ${i}: latency ${ms} ms`);
    assert.match(await page.textContent(tile + ' .badge'), /^live · WebRTC/);
    assert.match(await page.textContent(tile + ' .latency'), /^\d+ ms$|^\d+\.\d s$/);
    console.log(`tile ${i} (${cameras[i]}): ${await page.textContent(tile + ' .badge')}, ${ms} ms`);
  }
  await page.close();
});

test('a tile over LL-HLS reports its distance to the live edge', async () => {
  const page = await newPage();
  await signInAs(page, base + '/?via=hls#/wall', 'admin', password);
  await page.click('button[data-layout="1"]');
  await page.locator('.sidebar ul.cameras button').first().click();
  await assertPlaying(page, '.wall .tile[data-index="0"] video');
  await page.locator('.tile[data-index="0"][data-latency]').waitFor({ timeout: 10000 });
  const ms = Number(await page.getAttribute('.tile[data-index="0"]', 'data-latency'));
  assert.ok(ms > 0 && ms < 10000, `latency ${ms} ms`);
  console.log(`LL-HLS tile: ${ms} ms behind the live edge`);
  assert.match(await page.textContent('.tile[data-index="0"] .badge'), /^live · LL-HLS/);
  await page.close();
});

test('a snapshot downloads the tile\'s picture as a PNG named after the camera and the time', async () => {
  const page = await wall();
  await assertPlaying(page, '.tile[data-index="1"] video');
  const before = new Date();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('.tile[data-index="1"] button[data-action=snapshot]'),
  ]);
  const name = download.suggestedFilename();
  const m = name.match(/^(.+)-(\d{8}T\d{6})Z\.png$/);
  assert.ok(m, `file name ${name}`);
  assert.equal(m[1], cameras[1]);
  const stamp = m[2].replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3T$4:$5:$6Z');
  assert.ok(Math.abs(Date.parse(stamp) - before.getTime()) < 10000, `time ${stamp}, clicked at ${before.toISOString()}`);
  const png = readFileSync(await download.path());
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  // IHDR: width and height, the camera's 640x360.
  assert.equal(png.readUInt32BE(16), 640);
  assert.equal(png.readUInt32BE(20), 360);
  // Not blank: the browser decodes it and finds many colours and a bright and a dark pixel.
  const seen = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let lo = 255, hi = 0;
    for (let i = 0; i < px.length; i += 4 * 7) {
      colours.add((px[i] >> 3) << 10 | (px[i + 1] >> 3) << 5 | px[i + 2] >> 3);
      const y = (px[i] + px[i + 1] + px[i + 2]) / 3;
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
    }
    return { colours: colours.size, lo, hi };
  }, png.toString('base64'));
  assert.ok(seen.colours > 50 && seen.hi - seen.lo > 64, `snapshot looks blank: ${JSON.stringify(seen)}`);
  // The S key takes one of the selected tile.
  await page.click('.tile[data-index="2"] video');
  const [byKey] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('s')]);
  assert.equal(byKey.suggestedFilename().startsWith(cameras[2] + '-'), true, byKey.suggestedFilename());
  await page.close();
});

test('cameras are dragged from the list onto a tile, tiles onto each other, and moved with the keys', async () => {
  const page = await wall();
  // Empty tile 3 (Delete on the selected tile), then drag the fourth camera back onto it.
  await page.click('.tile[data-index="3"] video');
  await page.keyboard.press('Delete');
  await page.locator('.tile[data-index="3"][data-state="empty"]').waitFor({ timeout: 5000 });
  await page.locator(`.sidebar ul.cameras button[data-camera="${cameras[3]}"]`).dragTo(page.locator('.tile[data-index="3"]'));
  await page.locator(`.tile[data-index="3"][data-camera="${cameras[3]}"]`).waitFor({ timeout: 5000 });
  await assertPlaying(page, '.tile[data-index="3"] video');
  // A camera already on the wall dropped on another tile moves there: the two swap.
  await page.locator(`.sidebar ul.cameras button[data-camera="${cameras[0]}"]`).dragTo(page.locator('.tile[data-index="2"]'));
  await page.locator(`.tile[data-index="2"][data-camera="${cameras[0]}"]`).waitFor({ timeout: 5000 });
  await page.locator(`.tile[data-index="0"][data-camera="${cameras[2]}"]`).waitFor({ timeout: 5000 });
  // A tile dragged onto another swaps them.
  await page.locator('.tile[data-index="0"] video').dragTo(page.locator('.tile[data-index="1"]'));
  await page.locator(`.tile[data-index="1"][data-camera="${cameras[2]}"]`).waitFor({ timeout: 5000 });
  await page.locator(`.tile[data-index="0"][data-camera="${cameras[1]}"]`).waitFor({ timeout: 5000 });
  await assertPlaying(page, '.tile[data-index="1"] video');
  // Shift+→ moves the selected tile's camera one to the right.
  await page.click('.tile[data-index="0"] video');
  await page.keyboard.press('Shift+ArrowRight');
  await page.locator(`.tile[data-index="1"][data-camera="${cameras[1]}"].selected`).waitFor({ timeout: 5000 });
  // Select a tile, Enter on a camera in the list: it goes on that tile.
  await page.click('.tile[data-index="3"] video');
  await page.locator(`.sidebar ul.cameras button[data-camera="${cameras[1]}"]`).focus();
  await page.keyboard.press('Enter');
  await page.locator(`.tile[data-index="3"][data-camera="${cameras[1]}"]`).waitFor({ timeout: 5000 });
  // The wall is saved: a reload shows the same tiles.
  const saved = await page.$$eval('.wall .tile', (ts) => ts.map((t) => t.dataset.camera ?? null));
  await page.reload();
  await page.locator('.wall[data-layout="2x2"] .tile[data-index="3"] video').waitFor({ timeout: 10000 });
  assert.deepEqual(await page.$$eval('.wall .tile', (ts) => ts.map((t) => t.dataset.camera ?? null)), saved);
  // The keys: 3 is the 3x3 layout, ? shows the help.
  await page.keyboard.press('3');
  await page.locator('.wall[data-layout="3x3"] .tile[data-index="8"]').waitFor({ timeout: 5000 });
  await page.keyboard.press('?');
  await page.locator('dialog.help[open]').waitFor({ timeout: 5000 });
  assert.match(await page.textContent('dialog.help'), /snapshot/i);
  await page.keyboard.press('Escape');
  await page.locator('dialog.help[open]').waitFor({ state: 'detached', timeout: 5000 });
  await page.close();
});

test('jump to playback opens the tile\'s camera 30 seconds ago', async () => {
  const page = await wall();
  const before = Date.now();
  await page.click('.tile[data-index="0"] button[data-action=playback]');
  await page.waitForFunction(() => location.hash.startsWith('#/playback/'), null, { timeout: 5000 });
  const [, , id, at] = (await page.evaluate(() => location.hash)).split('/');
  assert.equal(decodeURIComponent(id), cameras[0]);
  const t = Date.parse(at);
  assert.ok(Math.abs(t - (before - 30000)) < 5000, `at ${at}, 30 s before ${new Date(before).toISOString()}`);
  // The playback view asks for the purpose and plays from about then (or, on a demo younger than
  // 30 s, from the first instant recorded).
  await answer(page, 'e2e case 7: jump');
  await assertPlaying(page, 'video.playback-video');
  const shown = await page.$eval('video.playback-video', (v) => Number(v.dataset.wall));
  const first = await page.evaluate(async (id) => {
    const q = `from=${new Date(Date.now() - 3600e3).toISOString()}&to=${new Date().toISOString()}`;
    return Date.parse((await (await fetch(`/api/v1/cameras/${id}/timeline?${q}`)).json()).ranges[0].from);
  }, cameras[0]);
  const from = Math.max(t - 5000, first);
  assert.ok(shown > from - 5000 && shown < from + 8000, `playing at ${new Date(shown).toISOString()}, asked for ${at}, recorded since ${new Date(first).toISOString()}`);
  await page.close();
});

test('wall playback plays every tile from one instant, in step', async () => {
  const page = await wall();
  // The demo city records most of its cameras, not all: the tiles of those that record must play in
  // step, the others say that nothing was recorded.
  const recorded = await page.evaluate(async () => (await (await fetch('/api/v1/cameras?recording=true&limit=100')).json()).items.map((c) => c.id));
  const rec = cameras.map((id) => recorded.includes(id));
  assert.ok(rec.filter(Boolean).length >= 2, `recording: ${JSON.stringify(rec)}`);
  // Wait until those cameras have recorded 20 s at once, and play the wall 12 s before that ends.
  let common;
  for (let i = 0; i < 90 && !common; i++) {
    common = await page.evaluate(async (ids) => {
      const now = Date.now();
      const q = `from=${new Date(now - 3600e3).toISOString()}&to=${new Date(now).toISOString()}`;
      const all = await Promise.all(ids.map(async (id) => ((await (await fetch(`/api/v1/cameras/${id}/timeline?${q}`)).json()).ranges || [])
        .map((r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) }))));
      // The stretches all four recorded: intersect each camera's ranges in turn; take the last.
      let common = all[0];
      for (const rs of all.slice(1)) {
        common = common.flatMap((a) => rs.map((b) => ({ from: Math.max(a.from, b.from), to: Math.min(a.to, b.to) }))).filter((r) => r.to > r.from);
      }
      const last = common[common.length - 1];
      window.argusRanges = all;
      return last && last.to - last.from > 20000 ? last : null;
    }, cameras.filter((_, i) => rec[i]));
    if (!common) await page.waitForTimeout(500);
  }
  assert.ok(common, 'the cameras did not record 20 s at once within 45 s: ' + JSON.stringify(await page.evaluate(() => window.argusRanges)));
  await page.click('button[data-mode=playback]');
  const canvas = page.locator('.wall-playback canvas.timeline');
  await page.waitForFunction(() => Number(document.querySelector('.wall-playback canvas.timeline').dataset.ranges) > 0, null, { timeout: 15000 });
  const box = await canvas.boundingBox();
  const view = await canvas.evaluate((c) => ({ from: Number(c.dataset.from), to: Number(c.dataset.to) }));
  const x = ((common.to - 12000 - view.from) / (view.to - view.from)) * box.width;
  await canvas.click({ position: { x, y: box.height / 2 } });
  // The purpose is asked once, for the whole wall.
  await answer(page, 'e2e case 7: wall');
  for (let i = 0; i < 4; i++) {
    if (rec[i]) await assertPlaying(page, `.tile[data-index="${i}"] video`);
    else {
      await page.locator(`.tile[data-index="${i}"] .badge.error`).waitFor({ timeout: 10000 });
      assert.match(await page.textContent(`.tile[data-index="${i}"] .badge`), /not recorded|Nothing recorded/);
    }
  }
  assert.equal(await page.locator('dialog.ask').count(), 0);
  const playing = (i) => `.tile[data-index="${i}"] video`;
  const videos = rec.flatMap((r, i) => (r ? [playing(i)] : [])).join(', ');
  // In step: the recorded instants of the four tiles, read at one moment, are within 1 s of each other.
  // (Their media clocks differ: each playlist begins at its camera's keyframe before the instant, and the
  // simulated cameras' keyframes are deliberately not aligned.)
  const inStep = async () => page.$$eval(videos, (vs) => vs.map((v) => {
    const w = Number(v.dataset.wall);
    return { w, t: v.currentTime, paused: v.paused };
  }));
  let spread = Infinity;
  let got;
  for (let i = 0; i < 20 && spread > 1000; i++) {
    got = await inStep();
    spread = Math.max(...got.map((g) => g.w)) - Math.min(...got.map((g) => g.w));
    if (spread > 1000) await page.waitForTimeout(250);
  }
  assert.ok(spread <= 1000, `tiles out of step by ${spread} ms: ${JSON.stringify(got)}`);
  const clicked = view.from + (Math.round(x) / box.width) * (view.to - view.from);
  assert.ok(got.every((g) => !g.paused && g.w >= clicked - 1000 && g.w < clicked + 8000), `not playing from the instant clicked: ${JSON.stringify(got)}`);
  console.log('wall playback in step:', JSON.stringify(got));
  await page.click('.wall-playback button:has-text("10 min")');
  await screenshot(page, 'wall-playback');

  // Pause with Space: every tile stops; Space again plays them all.
  await page.keyboard.press(' ');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((v) => v.paused), videos, { timeout: 5000 });
  await page.keyboard.press(' ');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((v) => !v.paused), videos, { timeout: 5000 });

  // A follower pushed 3 s off is brought back in step by the wall (the first recorded tile leads).
  const follower = rec.lastIndexOf(true);
  const pushed = await page.$eval(playing(follower), (v) => { v.currentTime += 3; return v.currentTime; });
  // Brought back: its clock is behind where it was pushed (playing alone only moves it forward) and in step again.
  await page.waitForFunction(([sel, one, t]) => {
    const v = document.querySelector(one);
    const ws = [...document.querySelectorAll(sel)].map((x) => Number(x.dataset.wall));
    return !v.seeking && v.currentTime < t - 1.5 && Math.max(...ws) - Math.min(...ws) <= 1000;
  }, [videos, playing(follower), pushed], { timeout: 10000 });

  // Speed applies to every tile.
  await page.selectOption('.wall-playback select', '2');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((v) => v.playbackRate === 2), videos, { timeout: 5000 });

  // Back to live: the tiles play live again.
  await page.click('.wall-playback button[data-action=live]');
  for (let i = 0; i < 4; i++) await page.locator(`.tile[data-index="${i}"] .badge.playing:has-text("live")`).waitFor({ timeout: 15000 });
  assert.equal(await page.locator('.wall-playback').count(), 0);
  await page.close();
});
