// The libdatachannel peer of the VirtualCluster.P2P interop tests: one node-datachannel PeerConnection driven by
// JSON lines on stdin, reporting JSON lines on stdout. Signaling: {type: offer|answer, sdp}, {type: candidate,
// candidate}. Commands: {cmd: offer, label}, {cmd: open, label, unordered, maxRetransmits}, {cmd: close, label},
// {cmd: sendPatterns, label, sizes}, {cmd: receiveBulk, label, total}, {cmd: quit}. Channels echo every message
// (binary stays binary, text stays text) unless receiving bulk. Events: {type: open|close, label}, {type: state},
// {type: bulk, label, sha256}, {type: error, message}.
import nodeDataChannel from 'node-datachannel';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

const out = m => process.stdout.write(JSON.stringify(m) + '\n');
const channels = new Map();
let pc = null;
const pending = [];

function newPc() {
  pc = new nodeDataChannel.PeerConnection('interop', { iceServers: [] });
  pc.onLocalDescription((sdp, type) => out({ type: type.toLowerCase(), sdp }));
  pc.onLocalCandidate(candidate => out({ type: 'candidate', candidate }));
  pc.onGatheringStateChange(state => { if (state === 'complete') out({ type: 'candidate', candidate: '' }); });
  pc.onStateChange(state => out({ type: 'state', state }));
  pc.onDataChannel(dc => register(dc));
}

function pattern(size, seed) {
  const a = Buffer.alloc(size);
  for (let i = 0; i < size; i++) a[i] = (i * 31 + seed) & 255;
  return a;
}

function register(dc) {
  const label = dc.getLabel();
  const entry = { dc, bulk: null };
  channels.set(label, entry);
  const opened = () => out({ type: 'open', label });
  if (dc.isOpen()) opened(); else dc.onOpen(opened);
  dc.onClosed(() => out({ type: 'close', label }));
  dc.onMessage(msg => {
    if (entry.bulk) {
      const b = entry.bulk;
      b.hash.update(msg);
      b.got += msg.length;
      if (b.got >= b.total) { out({ type: 'bulk', label, bytes: b.got, sha256: b.hash.digest('hex') }); entry.bulk = null; }
      return;
    }
    if (typeof msg === 'string') dc.sendMessage(msg); else dc.sendMessageBinary(Buffer.from(msg));
  });
  return entry;
}

async function sendPatterns(label, sizes) {
  const dc = channels.get(label).dc;
  for (const size of sizes) {
    dc.sendMessageBinary(pattern(size, size & 255));
    dc.sendMessage('b'.repeat(size));
    while (dc.bufferedAmount() > 1 << 20) await new Promise(r => setTimeout(r, 5));
  }
  out({ type: 'sent', label });
}

function flush() { for (const c of pending.splice(0)) pc.addRemoteCandidate(c, '0'); }

createInterface({ input: process.stdin }).on('line', async line => {
  let m;
  try { m = JSON.parse(line); } catch { out({ type: 'error', message: 'bad json' }); return; }
  try {
    if (m.type === 'offer') { if (!pc) newPc(); pc.setRemoteDescription(m.sdp, 'offer'); flush(); }
    else if (m.type === 'answer') { pc.setRemoteDescription(m.sdp, 'answer'); flush(); }
    else if (m.type === 'candidate') {
      if (!m.candidate) return;
      if (!pc || !pc.remoteDescription()) pending.push(m.candidate); else pc.addRemoteCandidate(m.candidate, '0');
    }
    else if (m.cmd === 'offer') { newPc(); register(pc.createDataChannel(m.label)); }
    else if (m.cmd === 'open') register(pc.createDataChannel(m.label, { unordered: !!m.unordered, maxRetransmits: m.maxRetransmits }));
    else if (m.cmd === 'close') channels.get(m.label).dc.close();
    else if (m.cmd === 'sendPatterns') await sendPatterns(m.label, m.sizes);
    else if (m.cmd === 'receiveBulk') channels.get(m.label).bulk = { total: m.total, got: 0, hash: createHash('sha256') };
    else if (m.cmd === 'quit') { pc?.close(); nodeDataChannel.cleanup(); process.exit(0); }
  } catch (e) { out({ type: 'error', message: String(e) }); }
});
process.stdin.on('end', () => { pc?.close(); nodeDataChannel.cleanup(); process.exit(0); });
