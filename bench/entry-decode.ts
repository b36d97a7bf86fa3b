// `npx tsx bench/entry-decode.ts`: what decoding a stored entry costs a cache hit, and how much of it is the CRC-32
// that makes a truncated or damaged entry fail to decode (src/cache/entry-codec.ts). Entries of the two payloads of
// `npm run bench` (2 KB: 31 rows, 200 KB: 2,160 rows, gzip-compressed as stored); each figure is the median of
// ROUNDS timed loops of ITERATIONS calls. Results go to stdout and .bench/entry-decode.json.
import { mkdir, writeFile } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { decodeEntry, encodeEntry } from '../src/cache/entry-codec.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 15)
const ITERATIONS = Number(process.env.ITERATIONS ?? 20_000)

/** A body shaped like the service's results (columns, rows of typed values, meta), about as compressible. */
function body(rows: number): Buffer {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  return Buffer.from(
    JSON.stringify({
      columns: [
        { name: 'page', type: 'varchar' },
        { name: 'period_start', type: 'timestamp' },
        { name: 'total', type: 'double' },
        { name: 'events', type: 'bigint' },
      ],
      rows: Array.from({ length: rows }, (_, i) => ({
        page: `/docs/page-${Math.floor(random() * 300)}`,
        period_start: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
        total: Math.round(random() * 1e6) / 100,
        events: Math.floor(random() * 1e5),
      })),
      meta: { query: 'bench', rowCount: rows, queryExecutionId: '5d7c1a4e-0000-4000-8000-000000000001' },
    }),
  )
}

/** Nanoseconds per call of `fn`: the median over ROUNDS loops. */
function nsPerCall(fn: () => unknown): number {
  for (let i = 0; i < ITERATIONS; i++) fn() // warm-up
  const rounds: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < ITERATIONS; i++) fn()
    rounds.push(Number(process.hrtime.bigint() - t0) / ITERATIONS)
  }
  rounds.sort((a, b) => a - b)
  return rounds[Math.floor(rounds.length / 2)] as number
}

const results: Record<string, unknown> = {}
for (const [name, rows] of [
  ['2 KB', 31],
  ['200 KB', 2_160],
] as const) {
  const plain = body(rows)
  const now = Date.now()
  const entry = encodeEntry(
    {
      kind: 'result',
      computedAt: now,
      freshUntil: now + 3_600_000,
      staleUntil: now + 7_200_000,
      dataScannedBytes: 1_000,
      engineMs: 1_000,
      rowCount: rows,
      queryExecutionId: '5d7c1a4e-0000-4000-8000-000000000001',
      known: 0,
    },
    plain,
  )
  const decodeNs = nsPerCall(() => decodeEntry(entry))
  const crcNs = nsPerCall(() => crc32(entry))
  results[name] = { plainBytes: plain.length, entryBytes: entry.length, decodeNs, crcNs }
  process.stdout.write(
    `${name.padEnd(7)} plain ${String(plain.length).padStart(7)} B  entry ${String(entry.length).padStart(6)} B  ` +
      `decodeEntry ${(decodeNs / 1000).toFixed(2)} µs  of which CRC-32 ≈ ${(crcNs / 1000).toFixed(2)} µs\n`,
  )
}
await mkdir('.bench', { recursive: true })
await writeFile('.bench/entry-decode.json', `${JSON.stringify(results, null, 2)}\n`)
