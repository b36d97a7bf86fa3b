import { type DuckDBPreparedStatement, StatementType } from '@duckdb/node-api'
import { invalidRequest } from './athena-api-error.ts'
import { bindParameters } from './bind-parameters.ts'
import type { DuckDBEngine, EngineSession } from './duckdb-engine.ts'
import { type DuckDBError, errorFromException, errorFromJson, messageOf } from './duckdb-errors.ts'
import type { ParameterValue } from './execution-parameters.ts'
import type { PlannedStatement } from './execution-runner.ts'
import type { ExecutionError } from './query-execution.ts'
import { type SemanticContext, semanticFailure } from './semantic-errors.ts'
import type { SqlToken } from './sql-lexer.ts'
import { significantTokens, trinoLocation } from './sql-positions.ts'
import { type TranslatedSql, translateSql } from './sql-translate.ts'
import { userError } from './trino-errors.ts'
import {
  binaryLiteralError,
  READ_STATEMENT_KEYWORDS,
  statementSeparator,
  syntaxError,
  TRINO_STATEMENT_KEYWORDS,
} from './trino-syntax.ts'
import { findTypeMismatch } from './type-check.ts'

/** A statement as StartQueryExecution received it. */
export interface QueryToPlan {
  query: string
  /** QueryExecutionContext's database. */
  database: string
  /** ExecutionParameters as sent (SQL literals). */
  executionParameters: readonly string[]
  /** The same parameters, parsed for binding. */
  parameters: readonly ParameterValue[]
  /** Whether the results get a header row (queries): then the parse tree is kept for Trino's column names. */
  headerRow: boolean
}

// Only statements that read: the endpoint must never modify the data directory.
const ALLOWED_STATEMENTS: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN])
// An existing schema holding no table: the session of a query whose database does not exist, so that its
// unqualified table names fail to resolve (SCHEMA_NOT_FOUND) while `SELECT 1` still runs.
const EMPTY_SCHEMA = 'main'
// Bind errors worth reporting as the query's failure; others (internal errors of the plan serializer) are left
// for the real prepare to raise.
const ANALYSIS_ERRORS = new Set(['binder', 'catalog', 'not implemented', 'conversion', 'out of range'])

/**
 * Decides at StartQueryExecution what an execution will do, as Athena decides it: SQL that does not parse is
 * refused (InvalidRequestException, MALFORMED_QUERY, Trino's `line L:C: mismatched input …`); SQL that parses
 * but does not analyse (unknown table, column or function, a type error, a wrong number of parameters) is
 * accepted and fails when it runs; the rest is prepared on the execution's own DuckDB session. Parsing and
 * analysis run on a separate, short-lived session, so that the bytes they read (Parquet footers) are not
 * counted as the execution's DataScannedInBytes.
 */
export async function planQuery(engine: DuckDBEngine, query: QueryToPlan): Promise<PlannedStatement> {
  const databases = new Set(engine.catalog().databases.map((d) => d.name.toLowerCase()))
  const schema = databases.has(query.database.toLowerCase()) ? query.database : EMPTY_SCHEMA
  const context: SemanticContext = { source: query.query, database: query.database, databases }
  const tokens = significantTokens(query.query)
  const translated = translateSql(query.query)
  const probe = await engine.openSession(schema)
  let serializedSql: string | undefined
  try {
    const parsed = await checkSyntax(probe, query.query, tokens, translated)
    if (parsed.kind === 'failure') return parsed
    serializedSql = parsed.serializedSql
    const failure = await analyse(probe, query, tokens, context)
    if (failure !== undefined) return { kind: 'failure', error: failure }
  } finally {
    probe.close()
  }
  return prepareStatement(engine, schema, query, tokens, translated, context, serializedSql)
}

/** Refuses what does not parse; a parsed statement that is not a read fails instead (Athena would run it). */
async function checkSyntax(
  session: EngineSession,
  source: string,
  tokens: readonly SqlToken[],
  translated: TranslatedSql,
): Promise<
  { kind: 'parsed'; serializedSql: string | undefined } | { kind: 'failure'; error: ExecutionError }
> {
  const serialized = await session.serializeSql(translated.sql).catch(() => undefined)
  const tree = parseJson(serialized)
  const separator = statementSeparator(tokens)
  if (tree?.error === true) {
    const error = errorFromJson(tree, translated.sql)
    if (error.kind === 'parser') {
      const offset = error.offset === undefined ? undefined : translated.sourceOffset(error.offset)
      throw syntaxError(
        source,
        separator !== undefined && (offset === undefined || separator < offset) ? separator : offset,
      )
    }
  }
  if (separator !== undefined) throw syntaxError(source, separator)
  const binary = binaryLiteralError(source, tokens)
  if (binary !== undefined) throw binary
  const statement = statementStart(tokens)
  if (statement === undefined) throw syntaxError(source, undefined)
  const keyword = statement.text.toUpperCase()
  if (!READ_STATEMENT_KEYWORDS.has(keyword)) {
    if (!TRINO_STATEMENT_KEYWORDS.has(keyword)) throw syntaxError(source, statement.start)
    return {
      kind: 'failure',
      error: userError(
        'NOT_SUPPORTED',
        `The local Athena endpoint is read-only: ${keyword} is not supported`,
      ),
    }
  }
  return { kind: 'parsed', serializedSql: tree?.error === false ? serialized : undefined }
}

/** Parameter count, then DuckDB's bound plan: its bind errors and Trino's stricter typing. */
async function analyse(
  session: EngineSession,
  query: QueryToPlan,
  tokens: readonly SqlToken[],
  context: SemanticContext,
): Promise<ExecutionError | undefined> {
  const placeholders = tokens.filter((t) => t.text === '?').length
  const given = query.executionParameters.length
  // Athena ignores parameters sent with a query that has no placeholder.
  if (placeholders > 0 && placeholders !== given)
    return parameterCountError(query.query, tokens, placeholders, given)
  const inner = statementStart(tokens)
  const probe = translateSql(query.query, {
    parameters: placeholders > 0 ? query.executionParameters : undefined,
    blankBefore: inner === tokens[0] ? undefined : inner?.start,
  })
  const plan = await serializePlan(session, probe.sql)
  if (plan === undefined) return undefined
  if (plan.error === true) {
    const error = errorFromJson(plan, probe.sql)
    if (!ANALYSIS_ERRORS.has(error.kind)) return undefined
    return semanticFailure(inSource(error, probe), context)
  }
  const mismatch = findTypeMismatch(plan, probe.sql)
  if (mismatch === undefined) return undefined
  const at = mismatch.offset === undefined ? undefined : probe.sourceOffset(mismatch.offset)
  return userError(
    'TYPE_MISMATCH',
    mismatch.message,
    at === undefined ? undefined : trinoLocation(query.query, at),
  )
}

async function prepareStatement(
  engine: DuckDBEngine,
  schema: string,
  query: QueryToPlan,
  tokens: readonly SqlToken[],
  translated: TranslatedSql,
  context: SemanticContext,
  serializedSql: string | undefined,
): Promise<PlannedStatement> {
  const session = await engine.openSession(schema)
  let prepared: DuckDBPreparedStatement
  try {
    prepared = await session.prepare(translated.sql)
  } catch (err) {
    session.close()
    const error = inSource(errorFromException(err, translated.sql), translated)
    if (error.kind === 'parser') throw syntaxError(query.query, error.offset)
    return { kind: 'failure', error: semanticFailure(error, context) }
  }
  const release = () => {
    prepared.destroySync()
    session.close()
  }
  if (!ALLOWED_STATEMENTS.has(prepared.statementType)) {
    release()
    const error = userError(
      'NOT_SUPPORTED',
      'The local Athena endpoint is read-only: only queries are supported',
    )
    return { kind: 'failure', error }
  }
  const given = query.executionParameters.length
  if (prepared.parameterCount > 0 && prepared.parameterCount !== given) {
    release()
    return {
      kind: 'failure',
      error: parameterCountError(query.query, tokens, prepared.parameterCount, given),
    }
  }
  if (prepared.parameterCount > 0) {
    try {
      bindParameters(prepared, query.parameters)
    } catch (err) {
      release()
      throw invalidRequest(`ExecutionParameters could not be bound: ${messageOf(err)}`)
    }
  }
  return {
    kind: 'engine',
    session,
    prepared,
    headerRow: query.headerRow,
    serializedSql: query.headerRow ? serializedSql : undefined,
  }
}

/** Trino's INVALID_PARAMETER_USAGE, located at the statement. */
function parameterCountError(
  source: string,
  tokens: readonly SqlToken[],
  expected: number,
  found: number,
): ExecutionError {
  const location = trinoLocation(source, tokens[0]?.start ?? 0)
  return userError(
    'INVALID_PARAMETER_USAGE',
    `Incorrect number of parameters: expected ${expected} but found ${found}`,
    location,
  )
}

/** The statement proper: the first token, or for `EXPLAIN [ANALYZE] [VERBOSE] [(options)]` the one explained. */
function statementStart(tokens: readonly SqlToken[]): SqlToken | undefined {
  let i = 0
  if (tokens[i]?.text.toUpperCase() !== 'EXPLAIN') return tokens[i]
  i++
  while (/^(ANALYZE|VERBOSE)$/i.test(tokens[i]?.text ?? '')) i++
  if (tokens[i]?.text === '(' && /^(FORMAT|TYPE)$/i.test(tokens[i + 1]?.text ?? '')) {
    while (i < tokens.length && tokens[i]?.text !== ')') i++
    i++
  }
  return tokens[i]
}

function inSource(error: DuckDBError, translated: TranslatedSql): DuckDBError {
  return { ...error, offset: error.offset === undefined ? undefined : translated.sourceOffset(error.offset) }
}

/** DuckDB's bound, unoptimized plan of `sql` as JSON, or its bind error (`{"error": true, …}`). */
async function serializePlan(
  session: EngineSession,
  sql: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  try {
    const prepared = await session.prepare('SELECT json_serialize_plan($1::VARCHAR)')
    try {
      prepared.bindVarchar(1, sql)
      const value = (await prepared.runAndReadAll()).getRows()[0]?.[0]
      return typeof value === 'string' ? parseJson(value) : undefined
    } finally {
      prepared.destroySync()
    }
  } catch {
    // The analysis is a refinement: without it the statement's own prepare still reports bind errors.
    return undefined
  }
}

function parseJson(text: string | undefined): Readonly<Record<string, unknown>> | undefined {
  if (text === undefined) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
