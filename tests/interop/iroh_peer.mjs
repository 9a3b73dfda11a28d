#!/usr/bin/env node
// One real iroh 1.0 endpoint (npm @number0/iroh 1.1.0) on loopback, for interop tests.
//
//   node iroh_peer.mjs serve   [--secret HEX] --alpn ALPN [--port P] [--once] [--timeout S] [--log LEVEL]
//   node iroh_peer.mjs connect [--secret HEX] --node HEX --addr 127.0.0.1:PORT --alpn ALPN
//                              [--bytes N] [--timeout S] [--log LEVEL]
//
// ALPN is plain text, or hex bytes with a "hex:" prefix. Output: one JSON object per
// line on stdout, each with an "event" field. With --log, iroh's own tracing lines also
// go to stdout (the binding's log layer writes there), so parsers must only look at
// lines that start with '{"event":'. See README.md.
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import os from 'node:os'

const require = createRequire(import.meta.url)
const { Endpoint, EndpointAddr, EndpointId, RelayMode, SecretKey, presetMinimal, setLogLevel } =
  require('@number0/iroh/index.js') // explicit file: the package's "main" points to a missing path

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
// The binding's errors carry a Rust backtrace and source locations; keep the words.
const msg = (e) =>
  String(e?.message ?? e).split('\n\nStack backtrace:')[0].replace(/ \([^()\n]*\.rs:\d+:\d+\)/g, '')
let phase = 'startup'
const die = (e, extra = {}) => {
  emit({ event: 'error', message: msg(e), fatal: true, phase, ...extra })
  process.exit(1)
}
process.on('uncaughtException', (e) => die(e))
process.on('unhandledRejection', (e) => die(e))

// ---- arguments ----
const argv = process.argv.slice(2)
const mode = argv.shift()
const opts = {}
const FLAGS = new Set(['once', 'allow-host-net'])
while (argv.length) {
  const a = argv.shift()
  if (!a.startsWith('--')) die(`unexpected argument: ${a}`)
  const k = a.slice(2)
  if (FLAGS.has(k)) { opts[k] = true; continue }
  if (!argv.length) die(`missing value for ${a}`)
  opts[k] = argv.shift()
}
if (mode !== 'serve' && mode !== 'connect') {
  die('usage: iroh_peer.mjs serve|connect [options] (see header of iroh_peer.mjs)')
}

const timeoutS = Number(opts.timeout ?? (mode === 'connect' ? 20 : 120))
if (!(timeoutS > 0)) die(`bad --timeout: ${opts.timeout}`)
// Global watchdog: whatever is stuck, the process ends.
setTimeout(() => die(`timeout after ${timeoutS} s`), timeoutS * 1000)

const hexToBytes = (h, what, len) => {
  if (!/^([0-9a-fA-F]{2})*$/.test(h) || (len && h.length !== 2 * len)) {
    die(`bad ${what}: expected ${len ? len + ' bytes of ' : ''}hex, got "${h}"`)
  }
  return Buffer.from(h, 'hex')
}
const toHex = (bytes) => Buffer.from(bytes).toString('hex')
const parseAlpn = (s) => {
  if (s === undefined) die('--alpn is required')
  const b = s.startsWith('hex:') ? hexToBytes(s.slice(4), 'alpn') : Buffer.from(s, 'utf8')
  if (b.length === 0 || b.length > 255) die('ALPN must be 1..255 bytes')
  return b
}
const alpnStr = (b) => {
  const buf = Buffer.from(b)
  return [...buf].every((c) => c >= 0x21 && c <= 0x7e) && !buf.toString().startsWith('hex:')
    ? buf.toString('latin1')
    : 'hex:' + buf.toString('hex')
}

// iroh's portmapper (UPnP/PCP/NAT-PMP) cannot be switched off through this binding and
// sends an SSDP M-SEARCH to 239.255.255.250:1900 as soon as a socket is bound, if the
// host has a default route. So by default only run where nothing but loopback exists:
// a fresh network namespace (see netns_run.sh). There the portmapper finds no gateway.
const external = Object.entries(os.networkInterfaces())
  .filter(([, as]) => as.some((a) => !a.internal))
  .map(([name]) => name)
if (external.length && !opts['allow-host-net']) {
  die(`non-loopback interfaces visible (${external.join(', ')}): run inside tests/interop/netns_run.sh ` +
    `(iroh's portmapper would multicast an SSDP probe), or pass --allow-host-net`)
}

if (opts.log) setLogLevel(opts.log[0].toUpperCase() + opts.log.slice(1).toLowerCase())

// ---- key: iroh's derivation must be plain RFC 8032 (compare with node:crypto) ----
const seed = opts.secret ? hexToBytes(opts.secret, '--secret', 32) : crypto.randomBytes(32)
const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
const spki = crypto
  .createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
  .export({ format: 'der', type: 'spki' })
const nodeIdCrypto = toHex(spki.subarray(spki.length - 32))
const nodeIdIroh = toHex(SecretKey.fromBytes([...seed]).public().toBytes())
emit({ event: 'key', node_id: nodeIdIroh, node_id_node_crypto: nodeIdCrypto, match: nodeIdIroh === nodeIdCrypto })
if (nodeIdIroh !== nodeIdCrypto) die('iroh public key differs from RFC 8032 derivation')

const alpn = parseAlpn(opts.alpn)

// ---- endpoint: no relays, no address lookup (DNS/pkarr), loopback sockets only ----
async function bindEndpoint(port, alpns) {
  const b = Endpoint.builder() // iroh Builder::empty(): no address lookup, RelayMode::Disabled
  presetMinimal(b) // only sets the rustls crypto provider; NOT applyN0 (n0 DNS + relays)
  b.relayMode(RelayMode.disabled()) // explicit, in case the preset ever changes
  b.secretKey([...seed])
  if (alpns) b.alpns(alpns)
  b.bindAddr(`127.0.0.1:${port}`) // replaces the default 0.0.0.0:0 socket
  b.bindAddr('[::1]:0') // replaces the default [::]:0 socket (the binding has no clear_ip_transports)
  const ep = await b.bind().catch((e) => die(`bind failed: ${msg(e)}`))
  const id = toHex(ep.id().toBytes())
  if (id !== nodeIdCrypto) die(`endpoint id ${id} != expected ${nodeIdCrypto}`)
  return ep
}

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: timeout after ${ms} ms`)), ms).unref())])

async function closeQuietly(ep) {
  try { await withTimeout(ep.close(), 2000, 'endpoint close') } catch {}
}

// ---- serve ----
async function serve() {
  const port = Number(opts.port ?? 0)
  phase = 'bind'
  const ep = await bindEndpoint(port, [[...alpn]])
  phase = 'serve'
  const sockets = ep.boundSockets()
  emit({
    event: 'ready',
    node_id: toHex(ep.id().toBytes()),
    addrs: [...sockets.filter((s) => s.startsWith('127.')), ...sockets.filter((s) => !s.startsWith('127.'))],
    alpn: alpnStr(alpn),
  })
  const stop = async (code) => { await closeQuietly(ep); process.exit(code) }
  process.on('SIGTERM', () => stop(0))
  process.on('SIGINT', () => stop(0))

  for (;;) {
    const incoming = await ep.acceptNext()
    if (!incoming) return stop(0)
    // Connections are handled concurrently; a failed one is reported and serving goes on.
    const ok = withTimeout(handle(incoming), 1000 * Number(opts['conn-timeout'] ?? 20), 'connection')
      .then(() => true)
      .catch((e) => { emit({ event: 'error', message: msg(e), fatal: false }); return false })
    if (opts.once) return stop((await ok) ? 0 : 1)
  }
}

async function handle(incoming) {
  const from = await incoming.remoteAddr()
  const conn = await (await incoming.accept()).connect() // TLS handshake (fails on ALPN mismatch)
  emit({ event: 'accepted', remote: toHex(conn.remoteId().toBytes()), alpn: alpnStr(conn.alpn()), from: from.addr })
  const bi = await conn.acceptBi()
  let n = 0
  for (;;) {
    const chunk = await bi.recv.read(65536)
    if (chunk.length === 0) break // peer finished its send side
    n += chunk.length
    await bi.send.writeAll(chunk)
  }
  await bi.send.finish()
  emit({ event: 'echoed', bytes: n })
  // Let the client read the echo and close; do not hold the accept loop forever.
  await withTimeout(conn.closed(), 5000, 'wait for peer close').catch(() => conn.close(0n, []))
}

// ---- connect ----
async function connect() {
  if (!opts.node) die('--node is required')
  if (!opts.addr) die('--addr is required')
  // Loopback only (127.0.0.0/8 or [::1]) unless --allow-host-net.
  if (!/^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/.test(opts.addr) && !opts['allow-host-net']) {
    die(`--addr must be 127.x.x.x:PORT or [::1]:PORT, got "${opts.addr}"`)
  }
  const nodeId = hexToBytes(opts.node, '--node', 32)
  const total = Number(opts.bytes ?? 1024)
  if (!Number.isSafeInteger(total) || total < 0) die(`bad --bytes: ${opts.bytes}`)

  let target // direct address only: no relay URL, and no address lookup is configured
  try {
    target = new EndpointAddr(EndpointId.fromBytes([...nodeId]), null, [opts.addr])
  } catch (e) {
    die(`bad --node or --addr: ${msg(e)}`)
  }
  phase = 'bind'
  const ep = await bindEndpoint(0, null)
  phase = 'handshake'
  const t0 = performance.now()
  let conn
  try {
    conn = await ep.connect(target, [...alpn])
  } catch (e) {
    die(e)
  }
  const tConn = performance.now()
  const remote = toHex(conn.remoteId().toBytes())
  emit({ event: 'connected', remote, alpn: alpnStr(conn.alpn()), handshake_ms: +(tConn - t0).toFixed(2) })
  if (remote !== toHex(nodeId)) die(`remote id ${remote} != --node ${opts.node}`)

  phase = 'stream'
  const bi = await conn.openBi()
  // Byte i of the stream is i % 251. The binding only takes plain JS arrays (not Buffers),
  // so build one chunk whose length is a multiple of 251 and send it again and again.
  const CH = 251 * 256
  const chunk = Array.from({ length: CH }, (_, i) => i % 251)
  const writer = (async () => {
    for (let off = 0; off < total; off += CH) await bi.send.writeAll(total - off >= CH ? chunk : chunk.slice(0, total - off))
    await bi.send.finish()
  })()
  const reader = (async () => {
    let got = 0
    for (;;) {
      const chunk = await bi.recv.read(CH)
      if (chunk.length === 0) return got
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== (got + i) % 251) throw new Error(`echo mismatch at byte ${got + i}`)
      }
      got += chunk.length
      if (got > total) throw new Error(`echo longer than sent (${got} > ${total})`)
    }
  })()
  const [, got] = await Promise.all([writer, reader])
  if (got !== total) die(`echo length ${got} != ${total}`)
  const t1 = performance.now()
  const rtt = conn.rtt()
  conn.close(0n, [])
  emit({
    event: 'done', ok: true, bytes: total,
    ms: +(t1 - t0).toFixed(2), handshake_ms: +(tConn - t0).toFixed(2), stream_ms: +(t1 - tConn).toFixed(2),
    rtt_ms: rtt ?? null, paths: conn.paths().map((p) => p.remoteAddr),
  })
  await closeQuietly(ep)
  process.exit(0)
}

await (mode === 'serve' ? serve() : connect())
