// When a server started with `--sample-data` (and the embedded stack of `acp serve`) writes the sample data set:
// into an empty data dir, and again when the data set it finds is its own to replace — a relative one that no longer
// ends today, or one a server wrote for another range. Data without a marker, and a fixed range written by
// `acp sample-data`, are never replaced.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { ValidationError } from '../src/errors.ts'
import {
  DEFAULT_DAYS,
  defaultRows,
  generateSampleData,
  hasData,
  SAMPLE_DATABASE,
  SAMPLE_MARKER_FILE,
  SAMPLE_TABLE,
  type SampleDataMarker,
  type SampleDataReport,
  utcDay,
} from './sample-data.ts'

const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/)
const markerSchema = z.object({
  start: isoDay,
  end: isoDay,
  days: z.number().int().positive(),
  rows: z.number().int().positive(),
  relative: z.boolean(),
  onDemand: z.boolean(),
})

/** What the data dir holds: nothing, tables without a sample marker, or the sample data set its marker describes. */
export type SampleDataState =
  | { kind: 'empty' }
  | { kind: 'other' }
  | { kind: 'sample'; marker: SampleDataMarker }

/** What a server asks for: a fixed `start` (91 days, the default rows), or, without one, the last 91 days. */
export interface SampleDataRequest {
  start?: string | undefined
}

/** The decision of `planSampleData`; `generate` carries the options for `generateSampleData`. */
export type SampleDataPlan =
  | { action: 'keep'; reason: string }
  | {
      action: 'generate'
      reason: string
      options: { start?: string; days?: number; rows?: number }
    }
  | { action: 'refuse'; reason: string }

/** Reads the data dir's state (a missing or unreadable marker beside tables is `other`). */
export async function readSampleDataState(dataDir: string): Promise<SampleDataState> {
  if (!(await hasData(dataDir))) return { kind: 'empty' }
  const file = path.join(path.resolve(dataDir), SAMPLE_DATABASE, SAMPLE_TABLE, SAMPLE_MARKER_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return { kind: 'other' }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { kind: 'other' }
  }
  const parsed = markerSchema.safeParse(json)
  return parsed.success ? { kind: 'sample', marker: parsed.data } : { kind: 'other' }
}

/** Whether to keep, write or refuse to replace the data set, for a request made on `today` (`YYYY-MM-DD`, UTC). */
export function planSampleData(
  state: SampleDataState,
  request: SampleDataRequest,
  today: string,
): SampleDataPlan {
  const asked = request.start === undefined ? {} : { start: request.start }
  if (state.kind === 'empty')
    return { action: 'generate', reason: 'the data dir holds no table', options: asked }
  if (state.kind === 'other')
    return {
      action: 'keep',
      reason:
        `the data dir holds tables without ${SAMPLE_MARKER_FILE}: used as they are (sample data written before ` +
        'the marker existed is replaced by acp sample-data --force)',
    }
  const m = state.marker
  const range = `${m.start} … ${m.end} (${m.rows} rows)`
  if (request.start === undefined) {
    if (m.relative) {
      if (m.end === today) return { action: 'keep', reason: `the sample data ${range} ends today` }
      // The same size as before, moved to end today.
      return {
        action: 'generate',
        reason: `the sample data ${range} no longer ends today`,
        options: { days: m.days, rows: m.rows },
      }
    }
    if (m.onDemand)
      return {
        action: 'generate',
        reason: `the sample data ${range} was written on demand for a fixed range`,
        options: {},
      }
    return { action: 'keep', reason: `the sample data ${range} was written by acp sample-data: kept` }
  }
  if (m.start === request.start && m.days === DEFAULT_DAYS && m.rows === defaultRows(DEFAULT_DAYS))
    return { action: 'keep', reason: `the sample data ${range} is the one asked for` }
  if (m.relative || m.onDemand)
    return { action: 'generate', reason: `the sample data ${range} is not the one asked for`, options: asked }
  return {
    action: 'refuse',
    reason:
      `the data dir holds the sample data ${range}, written by acp sample-data, not the ${DEFAULT_DAYS} days ` +
      `from ${request.start} asked for; it is not replaced: use another data dir, or ` +
      `acp sample-data --force --start ${request.start}`,
  }
}

/** The outcome of `ensureSampleData`. */
export type SampleDataOutcome =
  | { action: 'keep'; reason: string }
  | { action: 'generate'; reason: string; report: SampleDataReport }

/**
 * Makes the data dir hold the sample data a server asks for, as `planSampleData` decides; a refusal is a
 * ValidationError naming the data set found.
 */
export async function ensureSampleData(options: {
  dataDir: string
  start?: string | undefined
  /** Epoch ms of now (the day a relative data set must end on). */
  now?: number | undefined
}): Promise<SampleDataOutcome> {
  const now = options.now ?? Date.now()
  const plan = planSampleData(
    await readSampleDataState(options.dataDir),
    { start: options.start },
    utcDay(now),
  )
  if (plan.action === 'keep') return plan
  if (plan.action === 'refuse') throw new ValidationError(`${options.dataDir}: ${plan.reason}`)
  const report = await generateSampleData({
    dataDir: options.dataDir,
    ...plan.options,
    now,
    onDemand: true,
  })
  return { action: 'generate', reason: plan.reason, report }
}
