import { createRequire } from 'node:module'
import { v2ScopedAws } from './compat-aws-sdk-v2.ts'

const require = createRequire(import.meta.url)

/** athena-express's constructor options (the package ships no types; these are the ones lib/athenaExpress.js reads). */
export interface AthenaExpressOptions {
  /** The SDK v2 module, or an object with its `Athena`, `S3` and `config.credentials`. */
  aws: unknown
  /** The result location (`s3://bucket/prefix/`). */
  s3?: string
  db?: string
  catalog?: string
  workgroup?: string
  /** Milliseconds between two GetQueryExecution calls (default 200). */
  retry?: number
  formatJson?: boolean
  getStats?: boolean
  ignoreEmpty?: boolean
  skipResults?: boolean
  waitForResults?: boolean
  /** Rows a page: results are read through GetQueryResults instead of the CSV file on S3. */
  pagination?: number
}

/** The object form of `query()`. */
export interface AthenaExpressQuery {
  sql?: string
  db?: string
  catalog?: string
  pagination?: number
  nextToken?: string
  queryExecutionId?: string
}

/** What `query()` resolves to. */
export interface AthenaExpressResult {
  Items?: Record<string, unknown>[]
  NextToken?: string
  QueryExecutionId?: string
  DataScannedInBytes?: number
  DataScannedInMB?: number
  QueryCostInUSD?: number
  Count?: number
  S3Location?: string
}

export interface AthenaExpress {
  query(query: string | AthenaExpressQuery): Promise<AthenaExpressResult>
}

const AthenaExpressClass = require('athena-express') as new (options: AthenaExpressOptions) => AthenaExpress

/** athena-express over the SDK v2 classes bound to the local endpoint, polling every 20 ms. */
export function athenaExpressFor(
  endpoint: string,
  options: Omit<AthenaExpressOptions, 'aws'> = {},
): AthenaExpress {
  return new AthenaExpressClass({ aws: v2ScopedAws(endpoint), retry: 20, ...options })
}
