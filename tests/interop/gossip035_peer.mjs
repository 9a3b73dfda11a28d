#!/usr/bin/env node
// One real iroh-gossip 0.35 node (npm @number0/iroh 0.35.0, installed as the alias "iroh035") on
// loopback, for the gossip interop test (gossip035_test.sh).
//
//   node gossip035_peer.mjs --secret HEX --topic HEX --know ID@IP:PORT [--dial]
//                           --expect TEXT --reply TEXT [--timeout S]
//
// It names the other node with addNodeAddr first: iroh 0.35 drops QUIC packets from addresses it
// does not know (magicsock "no node state found"). With --dial it joins the topic with that node
// as bootstrap (it dials), after a line on stdin says the other node is listening (iroh-gossip
// sends Join once and never retries); without, it joins at once and waits to be dialled. When a broadcast equal to --expect
// arrives it broadcasts --reply. Output: one JSON object per line with an "event" field (ready,
// neighbor_up, received, sent, error); iroh's own log lines may be interleaved.
import { createRequire } from 'node:module'
import os from 'node:os'

const require = createRequire(import.meta.url)
const { Iroh } = require('iroh035/index.js') // explicit file: the package's "main" is broken

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const msg = (e) => String(e?.message ?? e).split('\n\nStack backtrace:')[0]
const die = (e) => {
  emit({ event: 'error', message: msg(e), fatal: true })
  process.exit(1)
}
process.on('uncaughtException', (e) => die(e))
process.on('unhandledRejection', (e) => die(e))

const argv = process.argv.slice(2)
const opts = {}
while (argv.length) {
  const a = argv.shift()
  if (!a.startsWith('--')) die(`unexpected argument: ${a}`)
  const k = a.slice(2)
  if (k === 'dial') { opts.dial = true; continue }
  if (!argv.length) die(`missing value for ${a}`)
  opts[k] = argv.shift()
}
for (const k of ['secret', 'topic', 'know', 'expect', 'reply']) {
  if (opts[k] === undefined) die(`--${k} is required`)
}
const timeoutS = Number(opts.timeout ?? 60)
setTimeout(() => die(`timeout after ${timeoutS} s`), timeoutS * 1000)

const hex = (h, what) => {
  if (!/^([0-9a-fA-F]{2}){32}$/.test(h)) die(`bad ${what}: expected 32 bytes of hex`)
  return Array.from(Buffer.from(h, 'hex'))
}
const [knowId, knowAddr] = opts.know.split('@')
hex(knowId, '--know node id')

// As iroh_peer.mjs: the portmapper cannot be switched off and would multicast an SSDP probe on
// a host network, so only run where nothing but loopback exists (netns_run.sh).
const external = Object.entries(os.networkInterfaces()).filter(([, as]) => as.some((a) => !a.internal))
if (external.length) die('non-loopback interfaces visible: run inside a fresh network namespace')

// Relays cannot be disabled through this API (gossip-wire.md §2.2); with only loopback the relay
// dials fail, which is log noise only.
const iroh = await Iroh.memory({
  ipv4Addr: '127.0.0.1:0', ipv6Addr: '[::1]:0', nodeDiscovery: 'None', secretKey: hex(opts.secret, '--secret'),
})
const me = await iroh.net.nodeAddr()
const port = Number(me.addresses.find((a) => a.startsWith('127.0.0.1:')).split(':')[1])
await iroh.net.addNodeAddr({ nodeId: knowId, addresses: [knowAddr] })

let sender = null
const pending = []
const onEvent = (err, m) => {
  if (err) die(err)
  // 0.35 reports its first neighbours as `joined` (removed in iroh-gossip 0.90), later ones as
  // neighborUp.
  for (const peer of m.joined ?? []) emit({ event: 'neighbor_up', peer, via: 'joined' })
  if (m.neighborUp) emit({ event: 'neighbor_up', peer: m.neighborUp })
  if (m.neighborDown) emit({ event: 'neighbor_down', peer: m.neighborDown })
  if (m.received) {
    const content = Buffer.from(m.received.content).toString('utf8')
    emit({ event: 'received', content, from: m.received.deliveredFrom })
    if (content === opts.expect) pending.push(opts.reply)
    flush()
  }
}
const flush = () => {
  if (!sender) return
  while (pending.length) {
    const text = pending.shift()
    sender.broadcast(Array.from(Buffer.from(text, 'utf8'))).then(
      () => emit({ event: 'sent', content: text }), die)
  }
}
const subscribe = async () => {
  sender = await iroh.gossip.subscribe(hex(opts.topic, '--topic'), opts.dial ? [knowId] : [], onEvent)
  flush()
}
if (opts.dial) {
  emit({ event: 'ready', id: me.nodeId, port })
  await new Promise((resolve) => process.stdin.once('data', resolve))
  await subscribe()
  emit({ event: 'joining', bootstrap: knowId })
} else {
  await subscribe()
  emit({ event: 'ready', id: me.nodeId, port })
}
