// node-datachannel (libdatachannel) as the reference peer of the NAT-lab benchmark: the same JSON lines and the same
// measurement as the .NET peer program's --pc mode (tests/VirtualCluster.P2P.IntegrationTests/Peer), so the harness
// drives both alike. Runs inside a NAT-lab home namespace (ip netns exec ... node nat-peer.mjs ...).
//
// Usage: node nat-peer.mjs --role controlling|controlled [--stun host:port] [--turn host:port --user u --pass p]
//                          [--relay-only] [--wait-start] [--warm-up]      (other arguments of the .NET peer are ignored)
// stdout: signaling {"type":"sdp","sdpType":"offer"|"answer","sdp":...}, {"type":"cand","candidate":...,"mid":...};
//         events {"event":"ready"|"started"|"offerer-open"|"connected"|"failed"|"tput-start"|"tput-done"|"cpu",...}.
//         "ts" is process.hrtime.bigint(): CLOCK_MONOTONIC in ns, the clock the .NET peers' Stopwatch ticks count too,
//         shared by every process whatever its network namespace.
// stdin:  the partner's signaling lines, and commands {"cmd":"start"}, {"cmd":"throughput","mb":N} (offerer: N MiB in
//         64 KiB messages on a new reliable ordered channel "tput:<bytes>", at most 4 MiB buffered), {"cmd":"cpu","id":k}
//         (this process's CPU seconds so far, user + system, all threads), {"cmd":"quit"}.
import nodeDataChannel from 'node-datachannel';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const value = name => { const i = args.indexOf(name); return i >= 0 && i + 1 < args.length ? args[i + 1] : null; };
const controlling = value('--role') !== 'controlled';

// JSON with bigint time stamps written as plain integers (JSON.stringify refuses bigint)
const emit = m => process.stdout.write(
  JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? `#big#${v}` : v)).replace(/"#big#(\d+)"/g, '$1') + '\n');
const now = () => process.hrtime.bigint();

function hostPort(text, option) {
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write(`${option} ${text}: expected host:port, for example 203.0.113.1:3478\n`);
    process.exit(2);
  }
  return { hostname: text.slice(0, at), port };
}

const iceServers = [];
if (value('--stun')) { const s = hostPort(value('--stun'), '--stun'); iceServers.push(`stun:${s.hostname}:${s.port}`); }
if (value('--turn')) {
  const t = hostPort(value('--turn'), '--turn');
  iceServers.push({ ...t, username: value('--user') ?? '', password: value('--pass') ?? '', relayType: 'TurnUdp' });
}
const config = { iceServers, iceTransportPolicy: args.includes('--relay-only') ? 'relay' : 'all' };

// Candidates can arrive before the description they belong to: node-datachannel delivers each callback type through
// its own queue, so a peer may print a candidate before its offer, and libdatachannel rejects a remote candidate while
// no remote description is set. Every peer connection here queues them until its remote description is applied.
function signalingQueue(pc) {
  let ready = false;
  const pending = [];
  return {
    candidate(candidate, mid) { if (ready) pc.addRemoteCandidate(candidate, mid); else pending.push([candidate, mid]); },
    description(sdp, type) {
      pc.setRemoteDescription(sdp, type);
      ready = true;
      for (const [c, m] of pending.splice(0)) pc.addRemoteCandidate(c, m);
    },
  };
}

// --warm-up: one connection between two peer connections of this process (host candidates only) before "ready", so the
// measured connection does not pay first-use costs (libdatachannel's certificate, thread pools), like the .NET peers'.
async function warmUp() {
  const a = new nodeDataChannel.PeerConnection('warm-a', { iceServers: [] });
  const b = new nodeDataChannel.PeerConnection('warm-b', { iceServers: [] });
  const qa = signalingQueue(a);
  const qb = signalingQueue(b);
  a.onLocalDescription((sdp, type) => qb.description(sdp, type));
  b.onLocalDescription((sdp, type) => qa.description(sdp, type));
  a.onLocalCandidate((c, mid) => qb.candidate(c, mid));
  b.onLocalCandidate((c, mid) => qa.candidate(c, mid));
  const got = new Promise(resolve => b.onDataChannel(dc => dc.onMessage(resolve)));
  const dc = a.createDataChannel('warm-up');
  dc.onOpen(() => dc.sendMessage('warm-up'));
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('warm-up connection timed out (20 s)')), 20000));
  await Promise.race([got, timeout]);
  a.close();
  b.close();
}

// how far a transfer got, reported with the CPU time (a stalled transfer shows where it stopped)
const progress = { sent: () => 0, buffered: () => 0, received: () => 0 };
let pc = null;
let queue = null;
let started = 0n;

// Every channel stays referenced from here for the life of the process: node-datachannel's DataChannel object is
// kept alive only by JavaScript references, and a channel held by nothing but its own callbacks was collected by the
// first major GC of a transfer (after about 32 MiB of received Buffers), its callbacks with it: the receiver stopped
// reading and the sender stalled with megabytes buffered. bench.mjs holds its channels in module variables.
const channels = new Set();

function create() {
  pc = new nodeDataChannel.PeerConnection(controlling ? 'offerer' : 'answerer', config);
  queue = signalingQueue(pc);
  pc.onLocalDescription((sdp, type) => emit({ type: 'sdp', sdpType: type.toLowerCase(), sdp }));
  pc.onLocalCandidate((candidate, mid) => emit({ type: 'cand', candidate, mid }));
  pc.onStateChange(state => {
    emit({ event: 'state', state });
    if (state === 'failed') emit({ event: 'failed', reason: 'peer connection failed' });
  });
  pc.onDataChannel(dc => {
    channels.add(dc);
    const label = dc.getLabel();
    if (label === 'first') {
      let reported = false;
      dc.onMessage(() => { if (!reported) { reported = true; emit(connected('connected', label)); } });
    } else if (label.startsWith('tput:')) receiveThroughput(dc, Number(label.slice(5)));
  });
}

function connected(name, label) {
  const ts = now();
  const pair = pc.getSelectedCandidatePair();
  return {
    event: name, ts, ms: Number(ts - started) / 1e6, label,
    local: pair?.local.type ?? '?', remote: pair?.remote.type ?? '?',
    relayed: pair ? pair.local.type === 'relay' || pair.remote.type === 'relay' : false,
    localAddress: pair ? `${pair.local.address}:${pair.local.port}` : null,
    remoteAddress: pair ? `${pair.remote.address}:${pair.remote.port}` : null,
  };
}

function start() {
  if (!controlling || pc) return; // the answerer starts when the offer arrives
  started = now();
  emit({ event: 'started', ts: started });
  create();
  const first = pc.createDataChannel('first'); // makes libdatachannel negotiate: the offer follows
  channels.add(first);
  first.onOpen(() => { first.sendMessage('first'); emit(connected('offerer-open', 'first')); });
}

function sendThroughput(mb) {
  const total = mb * 1024 * 1024;
  const dc = pc.createDataChannel(`tput:${total}`);
  channels.add(dc);
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 255;
  let sent = 0;
  progress.sent = () => sent;
  progress.buffered = () => dc.bufferedAmount();
  const pump = () => {
    // sendMessageBinary returns false when the message was queued rather than sent at once: not an error
    while (sent < total && dc.bufferedAmount() < 4 << 20) { dc.sendMessageBinary(chunk); sent += chunk.length; }
  };
  dc.onOpen(() => {
    dc.setBufferedAmountLowThreshold(1 << 20);
    dc.onBufferedAmountLow(pump);
    emit({ event: 'tput-start', ts: now() });
    pump();
  });
  dc.onError(err => emit({ event: 'tput-failed', reason: String(err) }));
}

function receiveThroughput(dc, total) {
  let got = 0;
  let reported = false;
  const report = reason => { if (!reported) { reported = true; emit({ event: 'tput-done', ts: now(), bytes: got, reason }); } };
  progress.received = () => got;
  dc.onMessage(m => { got += m.length ?? m.byteLength; if (got >= total) report(null); });
  dc.onClosed(() => report('closed'));
}

function cpuSeconds() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

function quit() {
  try { pc?.close(); } catch { /* already closed */ }
  nodeDataChannel.cleanup();
  process.exit(0);
}

function onLine(line) {
  let m;
  try { m = JSON.parse(line); } catch { emit({ event: 'error', reason: `not JSON: ${line.slice(0, 80)}` }); return; }
  try {
    if (m.type === 'sdp') {
      if (m.sdpType === 'offer' && !pc && !controlling) { started = now(); create(); }
      if (!pc) { emit({ event: 'error', reason: `${m.sdpType} without a peer connection` }); return; }
      queue.description(m.sdp, m.sdpType);
    } else if (m.type === 'cand') {
      if (!m.candidate) return; // end of candidates
      if (!pc) { early.push(m); return; } // the answerer's connection is made when the offer arrives
      queue.candidate(m.candidate, m.mid ?? '0');
    } else if (m.cmd === 'start') start();
    else if (m.cmd === 'throughput') sendThroughput(Number(m.mb ?? 100));
    else if (m.cmd === 'cpu') emit({ event: 'cpu', id: m.id ?? 0, seconds: cpuSeconds(), sent: progress.sent(), buffered: progress.buffered(), received: progress.received() });
    else if (m.cmd === 'quit') quit();
  } catch (e) {
    emit({ event: 'failed', reason: String(e) });
  }
  if (pc && early.length > 0) for (const c of early.splice(0)) queue.candidate(c.candidate, c.mid ?? '0');
}

const early = [];
if (args.includes('--warm-up')) {
  try { await warmUp(); } catch (e) { emit({ event: 'failed', reason: `warm-up: ${e.message}` }); }
}
createInterface({ input: process.stdin }).on('line', onLine);
process.stdin.on('end', quit);
emit({ event: 'ready' });
if (!args.includes('--wait-start')) start();
