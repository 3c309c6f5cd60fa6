// node-datachannel against node-datachannel in one process, the reference of the data-channel benchmark:
// setup time (offer to first message) over `runs` connections, then one reliable ordered channel carrying `mb` MiB
// in 64 KiB messages, with the process's CPU time. Prints one JSON line. Usage: node bench.mjs [runs] [mb]
import nodeDataChannel from 'node-datachannel';

const runs = Number(process.argv[2] ?? 10);
const mb = Number(process.argv[3] ?? 200);

// node-datachannel delivers each callback type through its own queue, so a peer's candidate can reach this code before
// its description, and libdatachannel rejects a remote candidate while no remote description is set ("Got a remote
// candidate without remote description"): candidates wait until the remote description is applied.
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

function connect() {
  return new Promise(resolve => {
    const started = process.hrtime.bigint();
    const a = new nodeDataChannel.PeerConnection('a', { iceServers: [] });
    const b = new nodeDataChannel.PeerConnection('b', { iceServers: [] });
    const qa = signalingQueue(a);
    const qb = signalingQueue(b);
    a.onLocalDescription((sdp, type) => qb.description(sdp, type));
    b.onLocalDescription((sdp, type) => qa.description(sdp, type));
    a.onLocalCandidate((c, mid) => qb.candidate(c, mid));
    b.onLocalCandidate((c, mid) => qa.candidate(c, mid));
    b.onDataChannel(dc => dc.onMessage(() => resolve({ a, b, ms: Number(process.hrtime.bigint() - started) / 1e6, remote: dc })));
    const dc = a.createDataChannel('bench');
    dc.onOpen(() => dc.sendMessage('first'));
    a.local = dc;
  });
}

const setups = [];
for (let i = 0; i < runs; i++) {
  const { a, b, ms } = await connect();
  setups.push(ms);
  a.close(); b.close();
}

const { a, b, remote } = await connect();
const dc = a.local;
const total = mb * 1024 * 1024;
const chunk = Buffer.alloc(64 * 1024, 7);
let got = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const done = new Promise(resolve => remote.onMessage(m => { got += m.length; if (got >= total) resolve(); }));
dc.setBufferedAmountLowThreshold(1 << 20);
let sent = 0;
const pump = () => {
  while (sent < total && dc.bufferedAmount() < 4 << 20) { dc.sendMessageBinary(chunk); sent += chunk.length; }
};
dc.onBufferedAmountLow(pump);
pump();
await done;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ setupMs: setups, bytes: got, seconds, mbps: got * 8 / seconds / 1e6, cpuSecondsPerGB: cpuSeconds / (got / 1e9) }));
a.close(); b.close();
nodeDataChannel.cleanup();
process.exit(0);
