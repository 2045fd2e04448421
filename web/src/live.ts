// Live video in a <video>: WHEP (WebRTC) first, for sub-second latency,
// then LL-HLS through hls.js when WebRTC fails or is not wanted (?via=hls),
// and an estimate of how far behind live the picture is.

import Hls from 'hls.js/light';
import { api, cameraPath } from './api';

export type Transport = 'whep' | 'llhls';

/** LiveStatus is what a tile shows while it plays. */
export interface LiveStatus {
  state: 'connecting' | 'playing' | 'error' | 'stopped';
  transport?: Transport;
  source?: string; // X-Argus-Source: main, sub or transcode
  message?: string;
  permanent?: boolean; // an error that retrying will not mend (not signed in, not allowed, no such camera)
}

// The counters of the last latency estimate, to measure the next interval.
interface Counters { jb: number; emitted: number; decode: number; decoded: number }

/** preferHLS is true when the page was opened with ?via=hls. */
export function preferHLS(): boolean {
  return new URLSearchParams(location.search).get('via') === 'hls';
}

/**
 * LivePlayer plays one camera live into a video element until stop. It
 * never blocks: start resolves once a transport is chosen, and status
 * changes are reported through onStatus.
 */
export class LivePlayer {
  private pc?: RTCPeerConnection;
  private session?: string;
  private hls?: Hls;
  private stopped = false;
  private last?: Counters;

  constructor(
    private video: HTMLVideoElement,
    private cameraId: string,
    private onStatus: (s: LiveStatus) => void,
  ) {}

  async start(): Promise<void> {
    this.onStatus({ state: 'connecting' });
    if (!preferHLS()) {
      try {
        await this.whep();
        if (this.stopped) return;
        this.video.dataset.transport = 'whep';
        this.onStatus({ state: 'playing', transport: 'whep', source: this.video.dataset.source });
        return;
      } catch (e) {
        if (this.stopped) return;
        console.warn(`WHEP for ${this.cameraId} failed, falling back to LL-HLS:`, e);
        this.closeWHEP();
      }
    }
    try {
      this.llhls();
      this.video.dataset.transport = 'llhls';
    } catch (e) {
      this.onStatus({ state: 'error', message: (e as Error).message, permanent: true });
    }
  }

  /**
   * latency estimates, in milliseconds, how far the picture shown is behind
   * what the node sends, or resolves to null while it cannot tell (no frame
   * since the last call). Over WHEP: the jitter buffer's delay and the decode
   * time per frame since the last call (getStats), plus half the round trip;
   * over LL-HLS: the distance to the live edge (hls.latency).
   */
  async latency(): Promise<number | null> {
    if (this.hls) {
      const l = this.hls.latency;
      return Number.isFinite(l) && l > 0 ? l * 1000 : null;
    }
    if (this.pc) return this.whepLatency(this.pc);
    const s = this.video.seekable; // native HLS (Safari): the distance to the end of what it may seek
    return this.video.src && s.length ? Math.max(0, s.end(s.length - 1) - this.video.currentTime) * 1000 : null;
  }

  private async whepLatency(pc: RTCPeerConnection): Promise<number | null> {
    const report = await pc.getStats();
    let c: Counters | undefined;
    let pair = '';
    let rtt: number | undefined;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        c = { jb: s.jitterBufferDelay ?? 0, emitted: s.jitterBufferEmittedCount ?? 0, decode: s.totalDecodeTime ?? 0, decoded: s.framesDecoded ?? 0 };
      } else if (s.type === 'transport' && s.selectedCandidatePairId) pair = s.selectedCandidatePairId;
    });
    report.forEach((s) => {
      if (s.type !== 'candidate-pair' || typeof s.currentRoundTripTime !== 'number') return;
      if (s.id === pair || (!pair && s.nominated && s.state === 'succeeded')) rtt = s.currentRoundTripTime;
    });
    if (!c) return null;
    const p: Counters = this.last ?? { jb: 0, emitted: 0, decode: 0, decoded: 0 };
    this.last = c;
    const frames = c.emitted - p.emitted;
    if (frames <= 0) return null;
    const decoded = c.decoded - p.decoded;
    const buffer = (c.jb - p.jb) / frames;
    const decode = decoded > 0 ? (c.decode - p.decode) / decoded : 0;
    return (buffer + decode + (rtt ?? 0) / 2) * 1000;
  }

  stop(): void {
    this.stopped = true;
    this.closeWHEP();
    this.hls?.destroy();
    this.hls = undefined;
    this.video.srcObject = null;
    this.video.removeAttribute('src');
    this.video.load();
    this.onStatus({ state: 'stopped' });
  }

  private closeWHEP(): void {
    this.pc?.close();
    this.pc = undefined;
    if (this.session) {
      api(this.session, { method: 'DELETE' }).catch(() => {});
      this.session = undefined;
    }
    this.video.srcObject = null;
  }

  private async whep(): Promise<void> {
    if (!window.RTCPeerConnection) throw new Error('no WebRTC in this browser');
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
    };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc, 2000);
    const r = await api(cameraPath(this.cameraId) + '/whep', {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription!.sdp,
    });
    this.session = r.headers.get('Location') ?? undefined;
    this.video.dataset.source = r.headers.get('X-Argus-Source') ?? '';
    const answer = await r.text();
    if (this.stopped) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no video within 5 s')), 5000);
      this.video.addEventListener('loadeddata', () => { clearTimeout(t); resolve(); }, { once: true });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'failed') { clearTimeout(t); reject(new Error('WebRTC connection failed')); }
      });
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) {
        this.onStatus({ state: 'error', transport: 'whep', message: 'The live connection was lost.' });
      }
    });
  }

  private llhls(): void {
    const url = cameraPath(this.cameraId) + '/live/index.m3u8';
    if (Hls.isSupported()) {
      const hls = new Hls({ lowLatencyMode: true });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_LOADED, (_e, data) => {
        const d = data.networkDetails as { getResponseHeader?: (h: string) => string | null } | undefined;
        const source = d?.getResponseHeader?.('X-Argus-Source') ?? '';
        this.video.dataset.source = source;
      });
      hls.on(Hls.Events.FRAG_BUFFERED, () => {
        this.onStatus({ state: 'playing', transport: 'llhls', source: this.video.dataset.source });
      });
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        const status = (data.response as { code?: number } | undefined)?.code;
        this.onStatus({ state: 'error', transport: 'llhls', message: liveError(status), permanent: status === 401 || status === 403 || status === 404 });
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
      return;
    }
    if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = url;
      this.video.addEventListener('playing', () => this.onStatus({ state: 'playing', transport: 'llhls' }), { once: true });
      return;
    }
    throw new Error('This browser plays neither WebRTC nor HLS video.');
  }
}

function liveError(status?: number): string {
  switch (status) {
    case 401: return 'Your session has ended. Sign in again.';
    case 403: return 'You may not watch this camera live.';
    case 404: return 'This camera does not exist or you may not see it.';
    case 503: return 'The camera sends no video (it may be offline), or the node serves too many cameras.';
    default: return 'The live video stopped.';
  }
}

function iceGathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}
