/**
 * A packet capture on an interface (tshark, or tcpdump when that is what is installed) into a pcap
 * file, and a reader that counts what crossed: packets per IP family with a TCP payload, and whether
 * some bytes appear anywhere in the raw capture (a plaintext marker would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { sh } from './netns-env';

/** dumpcap is tshark's own capture engine (same package), and starts in a fraction of tshark's time. */
export function captureTool(): 'dumpcap' | 'tshark' | 'tcpdump' | undefined {
  if (sh('sh', ['-c', 'command -v dumpcap']).ok) return 'dumpcap';
  if (sh('sh', ['-c', 'command -v tshark']).ok) return 'tshark';
  if (sh('sh', ['-c', 'command -v tcpdump']).ok) return 'tcpdump';
  return undefined;
}

export interface Capture {
  /** Stops the capture (SIGINT, so the file is complete) and resolves when it has exited. */
  stop(): Promise<void>;
  /** Waits until the file holds these bytes (the capture writes in batches); false on timeout. */
  waitFor(bytes: string, timeoutMs?: number): Promise<boolean>;
  file: string;
}

/** Polls the capture file until it holds these bytes; false on timeout. */
async function fileHolds(file: string, bytes: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (readFileSync(file).indexOf(bytes) >= 0) return true;
    } catch {
      // not created yet
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One UDP datagram to the discard port of an address across the interface (its reply, if any, is ignored). */
function sendProbe(to: string, payload: string): Promise<void> {
  const sock = createSocket(isIPv6(to) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    sock.send(payload, 9, to, () => {
      sock.close();
      resolve();
    });
  });
}

/**
 * Starts a capture on `iface` and resolves once it provably captures: the capture tools announce
 * themselves ("Capturing on …") before the interface is open, so packets sent right after that
 * line can be missed. A UDP probe carrying a random canary is sent to `probeTo` (an address reached
 * across the interface) until the canary shows up in the file.
 */
export function startCapture(iface: string, file: string, probeTo: string, timeoutMs = 30_000): Promise<Capture> {
  const tool = captureTool();
  if (!tool) return Promise.reject(new Error('neither tshark nor tcpdump is installed'));
  const args =
    tool === 'dumpcap' ? ['-i', iface, '-P', '-w', file, '-q'] : tool === 'tshark' ? ['-i', iface, '-F', 'pcap', '-w', file, '-q'] : ['-i', iface, '--immediate-mode', '-U', '-w', file];
  const child: ChildProcess = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  const capture: Capture = {
    file,
    waitFor: (bytes, ms = 15_000) => fileHolds(file, bytes, ms),
    stop: async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  const canary = `weft-capture-canary-${randomBytes(6).toString('hex')}`;
  return (async () => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`${tool} exited (${exitCode}) before capturing: ${err}`);
      await sendProbe(probeTo, canary);
      if (await fileHolds(file, canary, 300)) return capture;
    }
    await capture.stop();
    throw new Error(`${tool} did not capture a probe on ${iface} within ${timeoutMs} ms: ${err}`);
  })();
}

export interface CaptureSummary {
  packets: number;
  /** Ethernet frames carrying TCP with a payload, by IP version. */
  tcpPayload: { v4: number; v6: number };
  raw: Buffer;
}

/** Reads a classic pcap file (Ethernet link type), counting TCP segments with a payload. */
export function readPcap(file: string): CaptureSummary {
  const raw = readFileSync(file);
  const le = raw.readUInt32LE(0) === 0xa1b2c3d4 || raw.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? raw.readUInt32LE(o) : raw.readUInt32BE(o));
  const out: CaptureSummary = { packets: 0, tcpPayload: { v4: 0, v6: 0 }, raw };
  for (let off = 24; off + 16 <= raw.length; ) {
    const incl = u32(off + 8);
    const pkt = raw.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    out.packets++;
    if (pkt.length < 14) continue;
    const type = pkt.readUInt16BE(12);
    if (type === 0x0800 && pkt.length >= 34) {
      const ihl = (pkt[14]! & 0x0f) * 4;
      const total = pkt.readUInt16BE(16);
      if (pkt[23] !== 6) continue;
      const tcp = 14 + ihl;
      const dataOff = ((pkt[tcp + 12] ?? 0) >> 4) * 4;
      if (total - ihl - dataOff > 0) out.tcpPayload.v4++;
    } else if (type === 0x86dd && pkt.length >= 54) {
      const payloadLen = pkt.readUInt16BE(18);
      if (pkt[20] !== 6) continue;
      const dataOff = ((pkt[54 + 12] ?? 0) >> 4) * 4;
      if (payloadLen - dataOff > 0) out.tcpPayload.v6++;
    }
  }
  return out;
}
