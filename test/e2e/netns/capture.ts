/**
 * A packet capture on an interface (tshark, or tcpdump when that is what is installed) into a pcap
 * file, and a reader that counts what crossed: packets per IP family with a TCP payload, and whether
 * some bytes appear anywhere in the raw capture (a plaintext marker would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

export function startCapture(iface: string, file: string, timeoutMs = 30_000): Promise<Capture> {
  const tool = captureTool();
  if (!tool) return Promise.reject(new Error('neither tshark nor tcpdump is installed'));
  const args =
    tool === 'dumpcap' ? ['-i', iface, '-P', '-w', file, '-q'] : tool === 'tshark' ? ['-i', iface, '-F', 'pcap', '-w', file, '-q'] : ['-i', iface, '--immediate-mode', '-U', '-w', file];
  const child: ChildProcess = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${tool} did not start capturing on ${iface}: ${err}`));
    }, timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      // dumpcap, tshark: "Capturing on 'wb…'"; tcpdump: "listening on wb…".
      if (/Capturing on|listening on/i.test(err)) {
        clearTimeout(timer);
        resolve({
          file,
          waitFor: async (bytes, ms = 15_000) => {
            const deadline = Date.now() + ms;
            for (;;) {
              if (readFileSync(file).indexOf(bytes) >= 0) return true;
              if (Date.now() > deadline) return false;
              await new Promise((r) => setTimeout(r, 200));
            }
          },
          stop: async () => {
            child.kill('SIGINT');
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${tool} exited (${code}) before capturing: ${err}`));
    });
  });
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
