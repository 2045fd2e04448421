// Administration, shares and the audit viewer in a real browser, against
// `argus demo`: the demo's building owner (org_admin of a private
// organisation that owns one camera) grants the fire department a share of
// it and adds an auditor to its organisation; the fire department's viewer
// watches the camera and is refused another; the auditor finds the grant and
// the viewer's decisions in the audit viewer. The admin uses the
// user form and the CSV import, and the sign-in page offers OIDC when the
// server says it is on.
//
// ARGUS_SCREENSHOTS=1 also writes docs/screenshots/{admin-shares,
// admin-access,admin-users,admin-cameras,audit}.png at 1920x1080.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPlaying, newPage, screenshot, signIn, startDemo } from './harness.js';

let demo, shared, unshared, shareId;
const grantee = 'fire';
const purpose = 'e2e: fire safety inspection, agreement 2026-7';
// The demo's auditor audits its own organisation (system) only; the owner's
// organisation gets its own, created in the UI by the owner.
const auditor = 'owner-auditor';
const auditorPassword = 'an auditor passphrase for e2e';

before(async () => {
  demo = await startDemo();
  // The owner's camera is shared; a camera of another organisation is not.
  const page = await newPage(demo.browser);
  await signIn(page, demo.base + '/#/admin', 'admin', demo.passwords.admin);
  ({ shared, unshared } = await page.evaluate(async () => {
    const orgOf = async (u) => (await (await fetch('/api/v1/users')).json()).items.find((x) => x.username === u).org_id;
    const owner = await orgOf('owner');
    const cams = (await (await fetch('/api/v1/cameras?limit=100')).json()).items;
    return { shared: cams.find((c) => c.org_id === owner).id, unshared: cams.find((c) => c.org_id !== owner).id };
  }));
  await page.close();
});

after(async () => {
  if (demo) await demo.stop();
});

const as = async (user, path) => {
  const page = await newPage(demo.browser);
  await signIn(page, demo.base + path, user, demo.passwords[user]);
  return page;
};

test('an org admin grants a share of one camera to another organisation', async () => {
  const page = await as('owner', '/#/admin/shares');
  const f = page.locator('form[data-form=share]');
  await f.locator('select[name=owner_org_id]').waitFor();
  // An unknown grantee is refused, and the form says so next to the field.
  await f.locator('input[name=grantee_org_id]').fill('no-such-org');
  await f.locator('input[name=camera_ids]').fill(shared);
  await f.locator('textarea[name=purpose]').fill(purpose);
  await f.locator('button[type=submit]').click();
  const err = f.locator('[data-field=grantee_org_id] .field-error');
  await page.waitForFunction((el) => el.textContent.length > 0, await err.elementHandle(), { timeout: 5000 });
  console.log('grantee error:', await err.textContent());
  // Then the real grant: live and playback, for a week (the default), with the purpose, for the camera by
  // id and in an area drawn on the map around it (two clicks, opposite corners).
  await f.locator('input[name=grantee_org_id]').fill(grantee);
  const map = page.locator('.area-map[data-cameras="1"]');
  await map.waitFor({ timeout: 10000 });
  await page.waitForTimeout(300); // the fit to the camera is drawn
  const box = await map.boundingBox();
  await map.click({ position: { x: box.width / 2 - 60, y: box.height / 2 + 40 } });
  await map.click({ position: { x: box.width / 2 + 60, y: box.height / 2 - 40 } });
  const drawn = (await f.locator('input[name=area]').inputValue()).split(',').map(Number);
  assert.equal(drawn.length, 4, 'a box drawn: ' + drawn);
  assert.ok(drawn[0] < drawn[2] && drawn[1] < drawn[3], 'a box drawn: ' + drawn);
  await f.locator('input[name=actions][value="video.playback"]').check();
  await f.locator('button[type=submit]').click();
  const revoke = page.locator('.admin-section button[data-share]');
  await revoke.first().waitFor({ timeout: 5000 });
  shareId = await revoke.first().getAttribute('data-share');
  assert.match(shareId, /^share-/);
  assert.equal(await err.textContent(), '');
  const row = page.locator('tr', { has: page.locator(`button[data-share="${shareId}"]`) });
  assert.match(await row.textContent(), new RegExp(`→ ${grantee}.*${shared}; or in box .*video\\.live, video\\.playback.*${purpose}.*active`));
  // The map for the area draws the owner's camera.
  await page.waitForTimeout(500);
  await screenshot(page, 'admin-shares');

  // The owner's view of the camera: the owner and the grantee, by this share.
  await page.goto(demo.base + '/#/admin/access/' + shared);
  const holder = page.locator(`[data-camera="${shared}"] tr`, { has: page.locator(`button[data-share="${shareId}"]`) });
  await holder.waitFor({ timeout: 5000 });
  assert.match(await holder.textContent(), new RegExp(`^${grantee}share ${shareId}`));
  await screenshot(page, 'admin-access');
  await page.close();
});

test('the org admin adds an auditor to its organisation', async () => {
  const page = await as('owner', '/#/admin/users');
  const f = page.locator('form[data-form=user]');
  await f.locator('select[name=org_id]').waitFor();
  await f.locator('input[name=username]').fill(auditor);
  await f.locator('input[name=display_name]').fill('Owner\'s auditor');
  await f.locator('select[name=role]').selectOption('auditor');
  await f.locator('input[name=password]').fill(auditorPassword);
  await f.locator('button[type=submit]').click();
  const row = page.locator('tr', { hasText: auditor });
  await row.waitFor({ timeout: 5000 });
  assert.match(await row.textContent(), /auditor.*active/);
  demo.passwords[auditor] = auditorPassword;
  await page.close();
});

test('a user of the grantee sees the shared camera and not an unshared one', async () => {
  assert.ok(shareId, 'the share was granted');
  const page = await as('firefighter', '/#/wall/' + shared);
  // Opened by id, the shared camera plays live through the share.
  await page.locator(`.wall .tile[data-camera="${shared}"] video`).waitFor({ timeout: 10000 });
  const v = await assertPlaying(page, `.wall .tile[data-camera="${shared}"] video`);
  assert.ok(v.w > 0);
  // The list names it once the directory lists shared cameras; never the unshared one.
  const listed = await page.evaluate(async () => (await (await fetch('/api/v1/cameras?limit=1000')).json()).items.map((c) => c.id));
  assert.ok(!listed.includes(unshared), `the grantee's list has ${unshared}`);
  if (listed.includes(shared)) {
    await page.locator(`.sidebar button[data-camera="${shared}"]`).waitFor({ timeout: 5000 });
    console.log('the directory lists the shared camera');
  } else {
    console.log('the directory does not list shared cameras yet; opened by id');
  }
  assert.equal(await page.locator(`.sidebar button[data-camera="${unshared}"]`).count(), 0);
  // The unshared camera, opened by id, is refused in words.
  await page.goto(demo.base + '/#/wall/' + unshared);
  const badge = page.locator(`.wall .tile[data-camera="${unshared}"] .badge`);
  await badge.waitFor({ timeout: 10000 });
  await page.waitForFunction((el) => /not found|may not/i.test(el.textContent), await badge.elementHandle(), { timeout: 10000 });
  assert.equal(await page.locator(`.wall .tile[data-camera="${unshared}"]`).getAttribute('data-state'), 'error');
  await page.close();
});

test('an auditor sees the share and the grantee\'s decisions in the audit viewer', async () => {
  assert.ok(shareId && demo.passwords[auditor], 'the share was granted and the auditor created');
  const page = await as(auditor, '/#/audit');
  assert.equal(await page.isVisible('#views a[data-view=audit]'), true);
  const f = page.locator('form[data-form=audit]');
  // The share's change record.
  await f.locator('input[name=action]').fill('share.manage');
  await f.locator('button[type=submit]').click();
  const change = page.locator('table.audit-log tr[data-kind=change]', { hasText: shareId });
  await change.first().waitFor({ timeout: 5000 });
  assert.match(await change.first().textContent(), /owner · org_admin.*share\.grant/);
  // The grantee's decisions on the owner's camera, allowed by the share.
  await f.locator('input[name=action]').fill('');
  await f.locator('input[name=user]').fill('firefighter');
  await f.locator('button[type=submit]').click();
  const allowed = page.locator('table.audit-log tr.allowed', { hasText: `share:${shareId}` });
  await allowed.first().waitFor({ timeout: 5000 });
  assert.match(await allowed.first().textContent(), new RegExp(`firefighter · viewer · ${grantee}.*video\\.live.*${shared}`));
  // The grantee's other decisions are not the owner's auditor's to see.
  assert.equal(await page.locator('table.audit-log tr', { hasText: unshared }).count(), 0);
  const from = await f.locator('input[name=from]').evaluate((i) => new Date(i.value).toISOString());
  assert.equal(await page.getAttribute('a[data-action=export]', 'href'), '/api/v1/audit/export?' + new URLSearchParams({ from, user: 'firefighter' }));
  // The transparency report counts the grant for the owner's organisation.
  const report = page.locator('.report table');
  await report.waitFor({ timeout: 5000 });
  const counts = await report.evaluate((t) => {
    const heads = [...t.querySelectorAll('th')].map((x) => x.textContent);
    return [...t.querySelectorAll('tbody tr')].map((r) => Object.fromEntries([...r.children].map((c, i) => [heads[i], c.textContent])));
  });
  // (At least one: the store refuses an unknown grantee after the change record is written, so the refused
  // grant of the first test counts too; reported to the API's owner.)
  const row = counts.find((r) => r.organisation !== '-' && Number(r['shares granted']) >= 1);
  assert.ok(row, 'a row with a share granted: ' + JSON.stringify(counts));
  await screenshot(page, 'audit');
  await page.close();
});

test('the admin creates a user and imports cameras with a per-row report', async () => {
  const page = await as('admin', '/#/admin/users');
  const f = page.locator('form[data-form=user]');
  await f.locator('input[name=username]').fill('e2e-inspector');
  await f.locator('input[name=display_name]').fill('Fire inspector');
  await f.locator('select[name=org_id]').selectOption('fire');
  await f.locator('select[name=role]').selectOption('investigator');
  await f.locator('input[name=password]').fill('a long e2e passphrase');
  await f.locator('button[type=submit]').click();
  const row = page.locator('tr', { hasText: 'e2e-inspector' });
  await row.waitFor({ timeout: 5000 });
  assert.match(await row.textContent(), /Fire inspector.*fire.*investigator.*active/);
  // Disable it from the list.
  await row.locator('button', { hasText: 'Disable' }).click();
  await page.locator('tr', { hasText: 'e2e-inspector' }).filter({ hasText: 'disabled' }).waitFor({ timeout: 5000 });
  await screenshot(page, 'admin-users');

  // CSV import, skipping the bad row and reporting it.
  await page.goto(demo.base + '/#/admin/cameras');
  const csv = join(tmpdir(), `argus-e2e-${process.pid}.csv`);
  writeFileSync(csv, 'name,org_id,lat,lon,stream_url\n' +
    'Hydrant 7,fire,40.6951,-73.9452,rtsp://10.0.0.7/stream1\n' +
    'Hydrant 8,fire,91,-73.9452,rtsp://10.0.0.8/stream1\n');
  const imp = page.locator('form[data-form=import]');
  await imp.locator('input[type=file]').setInputFiles(csv);
  await imp.locator('select[name=mode]').selectOption('skip-bad');
  await imp.locator('button[type=submit]').click();
  rmSync(csv);
  const summary = page.locator('.import-summary');
  await summary.waitFor({ timeout: 10000 });
  assert.equal(await summary.textContent(), '1 of 2 rows imported, 1 skipped.');
  const bad = page.locator('.import-report tbody tr');
  assert.equal(await bad.count(), 1);
  assert.match(await bad.first().textContent(), /^23lat.*91/);
  await page.locator('.admin-section tr', { hasText: 'Hydrant 7' }).waitFor({ timeout: 5000 });
  await screenshot(page, 'admin-cameras');
  await page.close();
});

test('the sign-in page offers OIDC when the server has it on', async () => {
  const page = await newPage(demo.browser);
  await page.route('**/api/v1/auth/providers', (r) => r.fulfill({
    contentType: 'application/json',
    body: JSON.stringify({ password: true, oidc: { enabled: true, button_label: 'Sign in with City ID', login_url: '/api/v1/oidc/login' } }),
  }));
  await page.goto(demo.base + '/');
  const link = page.locator('#login-oidc a');
  await link.waitFor({ timeout: 5000 });
  assert.equal(await link.textContent(), 'Sign in with City ID');
  assert.equal(await link.getAttribute('href'), '/api/v1/oidc/login');
  await page.close();

  // The demo has it off: no button.
  const plain = await newPage(demo.browser);
  const asked = plain.waitForResponse((r) => r.url().endsWith('/api/v1/auth/providers'));
  await plain.goto(demo.base + '/');
  await asked;
  await plain.locator('form#login').waitFor();
  assert.equal(await plain.isVisible('#login-oidc'), false);
  await plain.close();
});
