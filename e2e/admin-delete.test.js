// Camera states on the map, deleting in the administration pages and
// verifying the audit chain, in a real browser against `argus demo`: the
// admin adds a recording camera whose address nothing answers, and the map
// shows it red (with the legend naming each colour); the admin is refused,
// in words, the deletion of an organisation that still owns cameras, then
// deletes the camera and a user, each after a confirmation that names it;
// the oversight auditor verifies the audit chain from the audit view.
//
// ARGUS_SCREENSHOTS=1 also writes docs/screenshots/{map-states,
// admin-delete,audit-verify}.png at 1920x1080.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, screenshot, signIn, startDemo } from './harness.js';

let demo;
const dead = { id: 'e2e-unreachable', name: 'Unreachable gate' };

before(async () => {
  demo = await startDemo();
});

after(async () => {
  if (demo) await demo.stop();
});

const as = async (user, path) => {
  const page = await newPage(demo.browser);
  await signIn(page, demo.base + path, user, demo.passwords[user]);
  return page;
};

// stateOf asks the API for a camera's state in the listing.
const stateOf = (page, id) => page.evaluate(async (cam) => {
  const items = (await (await fetch('/api/v1/cameras?limit=1000')).json()).items;
  return items.find((c) => c.id === cam)?.state ?? 'absent';
}, id);

test('a camera nobody answers is red on the map, and the legend says what each colour means', async () => {
  const page = await as('admin', '/#/admin/cameras');
  // Next to the demo's cameras, recording (the form's default), at an
  // address where nothing listens.
  const near = await page.evaluate(async () => (await (await fetch('/api/v1/cameras?limit=1')).json()).items[0]);
  const f = page.locator('form[data-form=camera]');
  await f.locator('input[name=id]').fill(dead.id);
  await f.locator('input[name=name]').fill(dead.name);
  await f.locator('input[name=lat]').fill(String(near.lat + 0.0005));
  await f.locator('input[name=lon]').fill(String(near.lon + 0.0005));
  await f.locator('input[name=stream_url]').fill('rtsp://127.0.0.1:9/stream1');
  await f.locator('button[type=submit]').click();
  await page.locator('.admin-section tr', { hasText: dead.id }).waitFor({ timeout: 5000 });
  // The recorder takes it up at its next pass (within 15 s); ingest finds
  // nothing there.
  const deadline = Date.now() + 45000;
  let state;
  while ((state = await stateOf(page, dead.id)) !== 'offline') {
    assert.ok(Date.now() < deadline, `the camera's state is still ${state}`);
    await page.waitForTimeout(500);
  }

  await page.goto(demo.base + '/#/map');
  const map = page.locator('.map[data-mode=points][data-trouble="1"]');
  await map.waitFor({ state: 'attached', timeout: 20000 });
  const counts = await page.locator('.map').evaluate((m) => ({ rendered: m.dataset.rendered, online: m.dataset.online, trouble: m.dataset.trouble }));
  console.log('drawn:', counts);
  assert.equal(counts.trouble, '1');
  assert.ok(Number(counts.online) >= 1, 'the demo\'s recording cameras are online: ' + JSON.stringify(counts));
  // The legend names every colour in words, each with its mark.
  const legend = await page.locator('.map-legend [data-class]').evaluateAll((els) => els.map((e) => [e.dataset.class, e.textContent.trim(), !!e.querySelector('canvas.map-mark, .dot')]));
  for (const [cls, words] of [['online', 'online'], ['trouble', 'offline or failing'], ['alerting', 'alerting'], ['idle', 'idle']]) {
    const item = legend.find(([c]) => c === cls);
    assert.ok(item && item[1].startsWith(words) && item[2], `legend ${cls}: ${JSON.stringify(legend)}`);
  }
  // Picked from the list, the camera's card says its state in words, and
  // the map, centred on it, draws it red.
  await page.fill('.sidebar input[type=search]', dead.id);
  await page.locator(`.sidebar button[data-camera="${dead.id}"]`).click();
  const state2 = page.locator(`.card[data-camera="${dead.id}"] .map-state[data-class=trouble]`);
  await state2.waitFor({ timeout: 5000 });
  assert.match((await state2.textContent()).trim(), /^Offline: the camera cannot be reached\./);
  await page.waitForTimeout(1000); // the jump to the camera is drawn
  const box = await page.locator('.map canvas.maplibregl-canvas').boundingBox();
  const shot = await page.screenshot({ clip: { x: box.x + box.width / 2 - 12, y: box.y + box.height / 2 - 12, width: 24, height: 24 } });
  const red = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 120 && d[i + 2] < 120) n++;
    return n;
  }, shot.toString('base64'));
  assert.ok(red > 20, `red pixels where the camera is drawn: ${red}`);
  await screenshot(page, 'map-states');
  await page.close();
});

test('the admin deletes a camera and a user after confirming, and is told in words why an organisation cannot go', async () => {
  const page = await as('admin', '/#/admin/orgs');
  // The organisation of a demo camera still owns it (and may have users):
  // refused, and said so.
  const org = await page.evaluate(async () => (await (await fetch('/api/v1/cameras?limit=1')).json()).items[0].org_id);
  await page.locator(`button[data-delete="${org}"]`).click();
  const dlg = page.locator('dialog.confirm');
  await dlg.waitFor({ timeout: 5000 });
  assert.match(await dlg.locator('h2').textContent(), new RegExp(`^Delete the organisation .* \\(${org}\\)\\?$`));
  assert.match(await dlg.textContent(), /refuses while it still owns cameras/);
  await dlg.locator('button[data-answer=delete]').click();
  const refused = page.locator('.delete-error');
  await page.waitForFunction((el) => el.textContent.length > 0, await refused.elementHandle(), { timeout: 5000 });
  assert.match(await refused.textContent(), new RegExp(`^Organisation "${org}" still (owns cameras|has users|has child organisations)\\.$`));
  console.log('refused:', await refused.textContent());
  assert.equal(await page.locator(`button[data-delete="${org}"]`).count(), 1);

  // A camera: cancelling keeps it; confirming deletes it.
  await page.goto(demo.base + '/#/admin/cameras');
  await page.fill('.admin-section input[type=search]', dead.id);
  const del = page.locator(`button[data-delete="${dead.id}"]`);
  await del.waitFor({ timeout: 5000 });
  await del.click();
  await dlg.waitFor({ timeout: 5000 });
  assert.equal(await dlg.locator('h2').textContent(), `Delete the camera ${dead.name} (${dead.id})?`);
  assert.match(await dlg.textContent(), /recording stops.*recorded video stays on disk/);
  await dlg.locator('button[data-answer=cancel]').click();
  await dlg.waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await stateOf(page, dead.id), 'offline', 'cancelled: the camera is still there');
  await del.click();
  await screenshot(page, 'admin-delete');
  await dlg.locator('button[data-answer=delete]').click();
  await del.waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await stateOf(page, dead.id), 'absent');
  assert.equal(await page.evaluate(async (id) => (await fetch('/api/v1/cameras/' + id)).status, dead.id), 404);

  // A user: the traffic operator.
  await page.goto(demo.base + '/#/admin/users');
  const traffic = await page.evaluate(async () => (await (await fetch('/api/v1/users')).json()).items.find((u) => u.username === 'traffic').id);
  await page.locator(`button[data-delete="${traffic}"]`).click();
  await dlg.waitFor({ timeout: 5000 });
  assert.match(await dlg.locator('h2').textContent(), /^Delete the user traffic/);
  assert.match(await dlg.textContent(), /signed out everywhere/);
  await dlg.locator('button[data-answer=delete]').click();
  await page.locator(`button[data-delete="${traffic}"]`).waitFor({ state: 'detached', timeout: 5000 });
  const status = await page.evaluate(async (p) => (await fetch('/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'traffic', password: p }) })).status, demo.passwords.traffic);
  assert.equal(status, 401, 'the deleted user cannot sign in');
  await page.close();
});

test('the oversight auditor verifies the audit chain from the audit view', async () => {
  const page = await as('auditor', '/#/audit');
  await page.locator('button[data-action=verify]').click();
  const result = page.locator('.verify-result p[data-ok]');
  await result.waitFor({ timeout: 30000 });
  const text = await result.textContent();
  console.log('verification:', text);
  assert.equal(await result.getAttribute('data-ok'), 'true');
  assert.match(text, /^The chain is intact: [\d,]+ records and [\d,]+ signed checkpoints? verified in \d/);
  assert.equal(await page.locator('button[data-action=verify]').isDisabled(), false);
  // The verification is itself in the log.
  const f = page.locator('form[data-form=audit]');
  await f.locator('input[name=action]').fill('audit.view');
  await f.locator('button[type=submit]').click();
  const row = page.locator('table.audit-log tr.allowed', { hasText: 'audit verify' });
  await row.first().waitFor({ timeout: 5000 });
  assert.match(await row.first().textContent(), /auditor.*audit\.view.*audit verify/);
  await screenshot(page, 'audit-verify');
  await page.close();
});
