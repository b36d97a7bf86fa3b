// Preloaded into the benchmark's `acp serve` only (NODE_OPTIONS=--require, from bench/bounds.ts), never into the
// service: on SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() to GC_PROBE_FILE, so that
// memory figures count what is kept rather than garbage the collector has not reached yet.
const { writeFileSync } = require('node:fs')
const { setFlagsFromString } = require('node:v8')
const { runInNewContext } = require('node:vm')

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')
process.on('SIGUSR2', () => {
  gc()
  gc()
  writeFileSync(process.env.GC_PROBE_FILE, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }))
})
