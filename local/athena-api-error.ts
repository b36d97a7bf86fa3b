import { randomUUID } from 'node:crypto'
import { AcpError, type ErrorCode } from '../src/errors.ts'

/** Error types the local endpoint answers with, named exactly as Athena's `__type`. */
export type AthenaErrorType =
  | 'InvalidRequestException'
  | 'MetadataException'
  | 'TooManyRequestsException'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'InternalServerException'

const DOMAIN_CODES: Record<AthenaErrorType, ErrorCode> = {
  InvalidRequestException: 'VALIDATION',
  MetadataException: 'NOT_FOUND',
  TooManyRequestsException: 'ENGINE_THROTTLED',
  UnknownOperationException: 'NOT_FOUND',
  SerializationException: 'VALIDATION',
  InternalServerException: 'ENGINE_UNAVAILABLE',
}

/**
 * An error the emulated Athena API reports to its caller. The HTTP layer turns it into the awsJson1_1
 * error document (`__type`, `Message`, extra members) so the AWS SDK raises the matching exception class.
 */
export class AthenaApiError extends AcpError {
  readonly code: ErrorCode
  constructor(
    readonly type: AthenaErrorType,
    message: string,
    /** Extra members of the error shape, e.g. `AthenaErrorCode` or `Reason`. */
    readonly members: Readonly<Record<string, string>> = {},
    readonly status = type === 'InternalServerException' ? 500 : 400,
  ) {
    super(message)
    this.code = DOMAIN_CODES[type]
  }
}

/** Athena's InvalidRequestException; `athenaErrorCode` mirrors the service's `AthenaErrorCode` member. */
export function invalidRequest(message: string, athenaErrorCode = 'INVALID_INPUT'): AthenaApiError {
  return new AthenaApiError('InvalidRequestException', message, { AthenaErrorCode: athenaErrorCode })
}

/** Athena's throttling answer (the SDK treats it as retryable). */
export function tooManyRequests(message = 'Rate exceeded'): AthenaApiError {
  return new AthenaApiError('TooManyRequestsException', message, {
    Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED',
  })
}

/**
 * Athena's MetadataException wrapping a Glue EntityNotFoundException, worded as Athena relays it (clients such as
 * PyAthena read the Glue error code out of the parenthesis). `entity` is Glue's own sentence, e.g.
 * `Database x not found.`; Athena says `Entity Not Found` for a missing table.
 */
export function entityNotFound(entity = 'Entity Not Found'): AthenaApiError {
  return new AthenaApiError(
    'MetadataException',
    `${entity} (Service: AmazonDataCatalog; Status Code: 400; Error Code: EntityNotFoundException; Request ID: ${randomUUID()}; Proxy: null)`,
  )
}
