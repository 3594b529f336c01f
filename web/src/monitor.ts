// monitor.ts: the live serial monitor's logic, without the DOM (issue 13 item 4; docs/api.md
// "Serial monitor"): the messages of GET /api/v1/ports/{n}/monitor/ws decoded into chunks (one
// serial read or write each, with direction and timestamp), a bounded ring of them (the newest
// `maxBytes` bytes and `maxChunks` chunks), pause, the direction/text filter, and the hex and
// text renderings. The page (pages/PortMonitor.tsx) only draws what this keeps.

export type Dir = 'rx' | 'tx';
export type Chunk = { seq: number; dir: Dir; tsUs: number; bytes: Uint8Array };

export type HelloMessage = { type: 'hello'; port: number; interval_ms: number };
export type DataMessage = {
  type: 'data';
  frames: { dir: Dir; ts_us: number; data: string }[];
  lost_frames: number;
  lost_bytes: number;
};
export type MonitorMessage = HelloMessage | DataMessage;

export type MonitorFilter = { dir: 'both' | Dir; text: string };

export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** "68 65 6c 6c 6f" */
export function hexView(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Printable ASCII as is; \r \n \t and \\ escaped; every other byte as \xHH. */
export function textView(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x5c) s += '\\\\';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += '\\x' + b.toString(16).padStart(2, '0');
  }
  return s;
}

/** "12:34:56.789123" in the browser's time zone, from UTC microseconds. */
export function timeOf(tsUs: number): string {
  const d = new Date(Math.floor(tsUs / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  const micro = String(((tsUs % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${micro}`;
}

export class MonitorBuffer {
  private chunks: Chunk[] = [];
  private bytes = 0;
  private seq = 0;
  /** Reported by the server: frames the browser was too slow to take (totals). */
  lostFrames = 0;
  lostBytes = 0;
  /** Chunks pushed out of the ring by newer ones (still counted, no longer shown). */
  evicted = 0;
  /** Chunks that arrived while paused (not kept). */
  skipped = 0;
  paused = false;
  port = 0;

  constructor(
    readonly maxBytes = 64 * 1024,
    readonly maxChunks = 2000,
  ) {}

  /** One WebSocket message (already JSON-parsed); unknown types are ignored. */
  add(msg: MonitorMessage) {
    if (msg.type === 'hello') {
      this.port = msg.port;
      return;
    }
    if (msg.type !== 'data') return;
    this.lostFrames = msg.lost_frames;
    this.lostBytes = msg.lost_bytes;
    for (const f of msg.frames) {
      if (this.paused) {
        this.skipped++;
        continue;
      }
      this.push({ seq: this.seq++, dir: f.dir, tsUs: f.ts_us, bytes: decodeBase64(f.data) });
    }
  }

  push(c: Chunk) {
    if (c.bytes.length > this.maxBytes) c = { ...c, bytes: c.bytes.slice(c.bytes.length - this.maxBytes) };
    this.chunks.push(c);
    this.bytes += c.bytes.length;
    let cut = 0;
    while ((this.bytes > this.maxBytes || this.chunks.length - cut > this.maxChunks) && cut < this.chunks.length) {
      this.bytes -= this.chunks[cut].bytes.length;
      cut++;
    }
    if (cut > 0) {
      this.chunks.splice(0, cut);
      this.evicted += cut;
    }
  }

  clear() {
    this.chunks = [];
    this.bytes = 0;
  }

  get size(): { chunks: number; bytes: number } {
    return { chunks: this.chunks.length, bytes: this.bytes };
  }

  /** The kept chunks that match the filter, oldest first. Text matches the text or hex view. */
  view(f: MonitorFilter = { dir: 'both', text: '' }): Chunk[] {
    const needle = f.text.toLowerCase();
    return this.chunks.filter(
      (c) =>
        (f.dir === 'both' || c.dir === f.dir) &&
        (needle === '' || textView(c.bytes).toLowerCase().includes(needle) || hexView(c.bytes).includes(needle)),
    );
  }
}
