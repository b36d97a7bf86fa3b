// The admin API's answers as the operator page reads them (README, "HTTP API"; the shapes are the service's).

export interface PrewarmReport {
  status: string
  trigger: string
  schedule?: string
  startedAt: string
  considered: number
  refreshed: number
  skippedFresh: number
  skippedBudget: number
  failed: number
  dataScannedBytes: number
  durationMs: number
}

export interface StatsReport {
  hits: number
  misses: number
  stale: number
  bypass: number
  reads: number
  hitRatio: number | null
  athenaExecutions: number
  athenaReusedResults?: number
  dataScannedBytes: number
  dataSavedBytes: number
  topQueries: Array<{ query: string; tenant?: string; parameters: Record<string, unknown>; reads: number }>
  lastPrewarm: PrewarmReport | null
}

export interface SeriesPoint {
  time: string
  reads: number
  hits: number
  stale: number
  misses: number
  bypass: number
  hitRatio: number | null
  latencyMs: { p50: number; p95: number; p99: number } | null
  scannedBytes: number
  savedBytes: number
}

export interface Series {
  bucketSeconds: number
  points: SeriesPoint[]
}

export interface Entry {
  query: string
  tenant: string | null
  parameters: Record<string, unknown>
  key: string
  source: 'configured' | 'popular'
  state: 'fresh' | 'stale' | 'absent'
  computedAt: string | null
  expiresAt: string | null
  ageSeconds: number | null
  ttlSeconds: number
}

export interface Entries {
  generatedAt: string
  entries: Entry[]
}

export interface Schedules {
  schedules: Array<{
    name: string
    expression: string
    timezone: string
    description?: string
    nextFireTime: string | null
  }>
  lastPrewarm: PrewarmReport | null
}

export interface Invalidation {
  at: string
  scope: string
  mode: string
  queries: string[]
  tenant?: string
  key?: string
  rewarm: { status: string; refreshed: number; failed: number } | null
}

export interface InvalidationResult {
  scope: string
  mode: string
  queries: string[]
  tenant?: string
  entry?: { key: string }
  invalidatedAt: string
  rewarm: PrewarmReport | null
}
