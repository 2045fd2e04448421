// The alerts inbox in a real browser against `argus demo`: the admin adds a
// camera that cannot be reached, ingest reports it offline, and the event
// arrives in the open inbox over the event stream without a reload; the
// bell's count rises and its panel lists the event; acknowledging it with a
// note (keys X, then Enter) shows who acknowledged it, also after a reload;
// Enter opens the camera's playback at the event, whose timeline shows the
// event as a marker.
//
// ARGUS_SCREENSHOTS=1 also writes docs/screenshots/alerts.png at 1920x1080.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { answer, newPage, screenshot, signIn, startDemo } from './harness.js';

let demo;

before(async () => {
  demo = await startDemo();
});

after(async () => {
  if (demo) await demo.stop();
});

const camID = 'e2e-unreachable';

test('a camera going offline arrives live in the inbox, is acknowledged and marks its timeline', async () => {
  const page = await newPage(demo.browser);
  await signIn(page, demo.base + '/#/map', 'admin', demo.passwords.admin);

  // The key A opens the inbox; it says when its event stream is live.
  await page.keyboard.press('a');
  await page.locator('.alerts-head').waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => location.hash), '#/alerts');
  await page.waitForFunction(() => document.querySelector('.live-state').textContent === 'Live', null, { timeout: 15000 });
  const countBefore = Number(await page.getAttribute('#bell', 'data-count'));
  await page.evaluate(() => { window.e2eNotReloaded = true; });

  // A recorded camera at a port where nothing listens: the recorder pulls it
  // at its next reconcile (within 15 s) and ingest reports it offline.
  await page.evaluate(async (id) => {
    const c = (await (await fetch('/api/v1/cameras?limit=1')).json()).items[0];
    const r = await fetch('/api/v1/cameras', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id, name: 'E2E unreachable camera', org_id: c.org_id, lat: c.lat, lon: c.lon,
        stream_url: 'rtsp://127.0.0.1:1/none', recording: true, retention_days: 1 }),
    });
    if (!r.ok) throw new Error(`create the camera: ${r.status} ${await r.text()}`);
  }, camID);

  const row = page.locator(`li.alert[data-type="camera.offline"]:has(a.camera[data-camera="${camID}"])`).last();
  await row.waitFor({ timeout: 45000 });
  assert.equal(await page.evaluate(() => window.e2eNotReloaded), true, 'the page was reloaded');
  assert.equal(await row.getAttribute('data-severity'), 'warning');
  assert.equal((await row.locator('.sev').textContent()).trim(), 'Warning');
  assert.match(await row.textContent(), /Camera offline/);
  assert.match(await row.locator('a.camera').textContent(), /E2E unreachable camera/);
  await page.waitForFunction((n) => Number(document.getElementById('bell').dataset.count) > n, countBefore, { timeout: 5000 });
  const eventID = await row.getAttribute('data-id');
  // The bell's panel lists it among the unacknowledged.
  await page.click('#bell');
  await page.locator(`#alerts-panel li[data-id="${eventID}"]`).waitFor({ timeout: 5000 });
  await page.keyboard.press('Escape');

  // Select it, X opens the note, Enter acknowledges.
  const theRow = page.locator(`li.alert[data-id="${eventID}"]`);
  await theRow.locator('.msg, strong').first().click();
  assert.equal(await theRow.getAttribute('aria-current'), 'true');
  await page.keyboard.press('x');
  await page.locator(`li.alert[data-id="${eventID}"] form.ack-form input[name=note]`).waitFor({ timeout: 5000 });
  await page.keyboard.type('e2e: cable checked');
  await page.keyboard.press('Enter');
  await page.locator(`li.alert[data-id="${eventID}"][data-acknowledged="true"]`).waitFor({ timeout: 10000 });
  const ackText = await theRow.locator('.ack-by').textContent();
  assert.match(ackText, /Acknowledged by admin/);
  assert.match(ackText, /e2e: cable checked/);
  await page.click('#bell');
  await page.locator('#alerts-panel h2').waitFor();
  // The open panel refills as the stream's copies arrive; the event must
  // leave it (the acknowledgement may reach the bell a moment after the row).
  const left = await page.waitForFunction((id) => !document.querySelector(`#alerts-panel li[data-id="${id}"]`),
    eventID, { timeout: 10000 }).then(() => true, () => false);
  assert.ok(left, 'still unacknowledged in the bell');
  await page.keyboard.press('Escape');
  await screenshot(page, 'alerts');

  // The server keeps who acknowledged it.
  await page.reload();
  await page.locator(`li.alert[data-id="${eventID}"][data-acknowledged="true"]`).waitFor({ timeout: 10000 });
  assert.match(await page.locator(`li.alert[data-id="${eventID}"] .ack-by`).textContent(), /Acknowledged by admin/);

  // Enter opens the selected event's camera in playback, at the event.
  const eventTime = await page.locator(`li.alert[data-id="${eventID}"] time`).getAttribute('datetime');
  await page.locator(`li.alert[data-id="${eventID}"] strong`).first().click();
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => location.hash.startsWith(`#/playback/${id}/`), camID, { timeout: 5000 });
  await answer(page, 'e2e alert review');

  // Its timeline shows the event as a marker, with its type and time as the tooltip.
  const canvas = page.locator('canvas.timeline');
  await page.waitForFunction(() => Number(document.querySelector('canvas.timeline')?.dataset.markers) > 0, null, { timeout: 15000 });
  // The view follows the playhead, so the marker's place is read again
  // before each hover until the tooltip shows.
  let hovered = false;
  for (let i = 0; i < 20 && !hovered; i++) {
    const view = await canvas.evaluate((c) => ({ from: Number(c.dataset.from), to: Number(c.dataset.to) }));
    const box = await canvas.boundingBox();
    const x = ((Date.parse(eventTime) - view.from) / (view.to - view.from)) * box.width;
    assert.ok(x >= 0 && x <= box.width, `the event at ${eventTime} is in view`);
    await page.mouse.move(box.x + x + (i % 2), box.y + 16);
    hovered = /Camera offline/.test(await canvas.getAttribute('title'));
    if (!hovered) await page.waitForTimeout(250);
  }
  assert.ok(hovered, 'hovering the marker shows its tooltip');
  assert.match(await canvas.getAttribute('title'), /^Warning: Camera offline · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  await page.close();
});
