// Benchmark baselines, each a minimal Hono server on one Redis key:
//   floor: one ioredis getBuffer, bytes written as they are (the least any Redis-backed server can do)
//   naive: ioredis get + JSON.parse + c.json (what a first implementation usually does)
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Redis } from 'ioredis'

const [mode, port, redisUrl, key] = process.argv.slice(2)
if (!mode || !port || !redisUrl || !key)
  throw new Error('usage: floor-server.ts floor|naive <port> <redisUrl> <key>')
const redis = new Redis(redisUrl)
const app = new Hono()
if (mode === 'floor') {
  app.get('/x', async (c) => {
    const buf = await redis.getBuffer(key)
    if (!buf) return c.text('missing', 404)
    return c.body(buf as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': 'application/json' })
  })
} else {
  app.get('/x', async (c) => {
    const text = await redis.get(key)
    if (!text) return c.text('missing', 404)
    return c.json(JSON.parse(text) as object)
  })
}
serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1' }, () => process.stdout.write('ready\n'))
