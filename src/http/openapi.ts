import type { Catalog, ParameterDef } from '../config/catalog.ts'

/**
 * The OpenAPI 3.1 document. Built from the catalog rather than from static route schemas (as @hono/zod-openapi
 * would) because each catalog query is its own operation with its own parameters, known only at start-up.
 */
export function buildOpenApi(
  catalog: Catalog,
  options: { apiKeysRequired: boolean },
): Record<string, unknown> {
  const problem = {
    description: 'Problem (RFC 9457)',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  }
  const errors = {
    '400': problem,
    '401': problem,
    '403': problem,
    '404': problem,
    '406': problem,
    '413': problem,
    '422': problem,
    '502': problem,
    '503': problem,
    '504': problem,
  }
  const result = {
    description: 'Query result (X-Cache: HIT | STALE | MISS | BYPASS)',
    headers: {
      'X-Cache': { schema: { type: 'string', enum: ['HIT', 'STALE', 'MISS', 'BYPASS'] } },
      ETag: { schema: { type: 'string' } },
      'Cache-Control': { schema: { type: 'string' } },
      Age: { schema: { type: 'integer' } },
      'Cache-Status': { schema: { type: 'string' } },
      'Content-Disposition': {
        description: 'CSV and NDJSON: `attachment; filename="<query>.csv"` (or `.ndjson`)',
        schema: { type: 'string' },
      },
    },
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/QueryResult' } },
      'text/csv': {
        schema: {
          type: 'string',
          description:
            'RFC 4180: a header row of column names, then one row per result row (CRLF line ends); NULL is an ' +
            'empty field, an empty string is "". Values as in the JSON body (timestamps in ISO 8601 UTC).',
        },
      },
      'application/x-ndjson': {
        schema: {
          type: 'string',
          description:
            'One JSON object per row and line, as in the JSON body’s `rows`, each line ending in \\n.',
        },
      },
    },
  }
  const formatParameter = {
    name: 'format',
    in: 'query',
    required: false,
    description:
      'The body format, over the Accept header (text/csv, application/x-ndjson, application/json); each format is ' +
      'cached as its own bytes with its own ETag. Any other value is a 400; an Accept header allowing none is a 406.',
    schema: { type: 'string', enum: ['json', 'csv', 'ndjson'], default: 'json' },
  }
  const security = options.apiKeysRequired ? [{ apiKey: [] }] : []
  const paths: Record<string, unknown> = {
    '/health': {
      get: {
        summary: 'Liveness and dependencies',
        security: [],
        responses: { '200': { description: 'OK' } },
      },
    },
    '/queries': {
      get: {
        summary: 'The query catalog',
        security,
        responses: { '200': { description: 'Catalog' }, ...errors },
      },
    },
  }
  paths['/executions/{id}'] = {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      summary: 'An execution this service started: 202 while running, then the result',
      security,
      responses: { '200': result, '202': { description: 'Still running (Retry-After)' }, ...errors },
    },
    delete: {
      summary: 'Stop an execution (admin key)',
      security: [{ apiKey: [] }],
      responses: { '200': { description: 'Stopped' }, ...errors },
    },
  }
  for (const def of catalog.queries.values()) {
    const operation = {
      summary: def.description || def.name,
      operationId: `query_${def.name}`,
      tags: def.tags,
      security,
      parameters: [
        ...def.parameters.map(parameterDoc),
        formatParameter,
        {
          name: 'Prefer',
          in: 'header',
          required: false,
          schema: { type: 'string', example: 'respond-async' },
        },
      ],
      responses: {
        '200': result,
        '202': { description: 'Accepted: the query runs on; poll the Location (/executions/{id})' },
        '304': { description: 'Not modified (If-None-Match)' },
        ...errors,
      },
    }
    paths[`/queries/${def.name}`] = { get: operation }
    if (def.name === 'analytics') paths['/analytics'] = { get: { ...operation, operationId: 'analytics' } }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'athena-cache-proxy',
      version: '1',
      description: 'Cached, precomputed Athena query results',
    },
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { name: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
        QueryResult: {
          type: 'object',
          required: ['columns', 'rows', 'meta'],
          properties: {
            columns: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } } },
            },
            rows: { type: 'array', items: { type: 'object' } },
            meta: {
              type: 'object',
              properties: {
                query: { type: 'string' },
                parameters: { type: 'object' },
                rowCount: { type: 'integer' },
                queryExecutionId: { type: 'string' },
                dataScannedBytes: { type: 'integer' },
                computedAt: { type: 'string', format: 'date-time' },
                expiresAt: { type: 'string', format: 'date-time' },
                refresh: {
                  type: 'object',
                  description:
                    'Only in a result spliced by an incremental refresh: the date spans it recomputed (the rest kept ' +
                    'from the cached result) and their executions; dataScannedBytes is what they scanned',
                  properties: {
                    kind: { type: 'string', enum: ['incremental'] },
                    spans: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          start: { type: 'string', format: 'date' },
                          end: { type: 'string', format: 'date' },
                        },
                      },
                    },
                    queryExecutionIds: { type: 'array', items: { type: 'string' } },
                    baseComputedAt: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
        },
      },
    },
  }
}

function parameterDoc(p: ParameterDef): Record<string, unknown> {
  const schema: Record<string, unknown> = {}
  switch (p.type) {
    case 'string':
      Object.assign(
        schema,
        { type: 'string', maxLength: p.maxLength },
        p.pattern ? { pattern: p.pattern } : {},
      )
      break
    case 'integer':
      Object.assign(schema, { type: 'integer', minimum: p.min, maximum: p.max })
      break
    case 'date':
      Object.assign(schema, { type: 'string', format: 'date' })
      break
    case 'timestamp':
      Object.assign(schema, { type: 'string', format: 'date-time' })
      break
    case 'enum':
      Object.assign(schema, { type: 'string', enum: p.values })
      break
  }
  if (p.default !== undefined && typeof p.default !== 'object') schema.default = p.default
  return {
    name: p.name,
    in: 'query',
    required: p.required,
    schema,
    ...(p.description ? { description: p.description } : {}),
  }
}
