// argus live viewer: sign in, list cameras, play one live over WHEP
// (WebRTC), falling back to LL-HLS. Plain browser JavaScript, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const video = $('video');
let current = null; // {pc, location, hls}

async function api(path, opts = {}) {
  const r = await fetch(path, Object.assign({ credentials: 'same-origin' }, opts));
  if (!r.ok && r.status !== 201) {
    let msg = r.status + ' ' + r.statusText;
    try { const e = await r.json(); if (e.error) msg = e.error.message; } catch (_) {}
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return r;
}

async function start() {
  try {
    const me = await (await api('/api/v1/me')).json();
    $('who').textContent = (me.display_name || me.username) + ' · ' + me.org_id + ' · ' + me.role;
    $('login').hidden = true; $('app').hidden = false; $('logout').hidden = false;
    await listCameras('');
  } catch (e) {
    if (e.status !== 401) $('login-error').textContent = e.message;
    $('login').hidden = false; $('app').hidden = true; $('logout').hidden = true;
  }
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $('login-error').textContent = '';
  try {
    await api('/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: f.get('username'), password: f.get('password') }) });
    await start();
  } catch (e) { $('login-error').textContent = e.message; }
});

$('logout').addEventListener('click', async () => {
  await stop();
  try { await api('/api/v1/logout', { method: 'POST' }); } catch (_) {}
  location.reload();
});

let filterTimer;
$('filter').addEventListener('input', (ev) => {
  clearTimeout(filterTimer);
  const q = ev.target.value.trim();
  filterTimer = setTimeout(() => listCameras(q.length >= 3 ? q : ''), 250);
});

async function listCameras(q) {
  const url = '/api/v1/cameras?limit=200' + (q ? '&q=' + encodeURIComponent(q) : '');
  const page = await (await api(url)).json();
  const ul = $('cameras');
  ul.replaceChildren();
  for (const c of page.items) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.dataset.camera = c.id;
    b.textContent = c.name;
    const s = document.createElement('small');
    s.textContent = c.id + ' · ' + c.org_id + (c.address ? ' · ' + c.address : '');
    b.append(s);
    b.addEventListener('click', () => play(c));
    li.append(b);
    ul.append(li);
  }
}

async function stop() {
  const c = current; current = null;
  if (!c) return;
  if (c.hls) c.hls.destroy();
  if (c.pc) c.pc.close();
  if (c.location) { try { await api(c.location, { method: 'DELETE' }); } catch (_) {} }
  video.srcObject = null; video.removeAttribute('src');
}

async function play(cam) {
  await stop();
  for (const b of document.querySelectorAll('#cameras button')) b.setAttribute('aria-current', String(b.dataset.camera === cam.id));
  $('title').textContent = cam.name;
  $('status').textContent = 'connecting…';
  try {
    // ?via=hls skips WebRTC (a player on a network that blocks it, or a test).
    if (new URLSearchParams(location.search).get('via') === 'hls') throw new Error('LL-HLS asked for');
    current = await playWHEP(cam.id);
    showSource(current.source);
    video.dataset.transport = 'whep';
  } catch (e) {
    console.warn('WHEP failed, falling back to LL-HLS:', e);
    await stop();
    try {
      current = playHLS(cam.id);
      showSource('');
      video.dataset.transport = 'llhls';
    } catch (e2) { $('status').textContent = 'cannot play: ' + e2.message; }
  }
}

// showSource puts what the node serves of an H.265 camera (the
// X-Argus-Source header: main, sub or transcode) in the status line.
function showSource(source) {
  const label = { sub: 'sub-stream (H.264)', transcode: 'transcoded to H.264' }[source] || '';
  $('status').textContent = label;
  video.dataset.source = source || '';
}

function iceGathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

async function playWHEP(id) {
  if (!window.RTCPeerConnection) throw new Error('no WebRTC in this browser');
  const pc = new RTCPeerConnection();
  const session = { pc };
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (ev) => {
    if (!video.srcObject) video.srcObject = new MediaStream();
    video.srcObject.addTrack(ev.track);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc, 2000);
  const r = await api('/api/v1/cameras/' + encodeURIComponent(id) + '/whep',
    { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  session.location = r.headers.get('Location');
  session.source = r.headers.get('X-Argus-Source') || '';
  await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no video within 5 s')), 5000);
    video.addEventListener('loadeddata', () => { clearTimeout(t); resolve(); }, { once: true });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') { clearTimeout(t); reject(new Error('WebRTC connection failed')); }
    });
  });
  return session;
}

function playHLS(id) {
  const url = '/api/v1/cameras/' + encodeURIComponent(id) + '/live/index.m3u8';
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ lowLatencyMode: true });
    hls.on(window.Hls.Events.MANIFEST_LOADED, (_, data) => {
      const d = data.networkDetails;
      const h = d && (d.getResponseHeader ? d.getResponseHeader('X-Argus-Source') : d.headers && d.headers.get('X-Argus-Source'));
      if (h) showSource(h);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return { hls };
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) { video.src = url; return {}; }
  throw new Error('this browser plays neither WebRTC nor HLS');
}

start();
