import { AcpError, type ErrorCode } from '../../src/errors.ts'

/** Error types the local endpoint answers with, named exactly as EventBridge Scheduler's. */
export type SchedulerErrorType =
  | 'ValidationException'
  | 'ResourceNotFoundException'
  | 'ConflictException'
  | 'ThrottlingException'
  | 'InternalServerException'
  | 'UnknownOperationException'

/** The HTTP status the service answers each error type with (from the service model). */
const STATUS: Record<SchedulerErrorType, number> = {
  ValidationException: 400,
  ResourceNotFoundException: 404,
  ConflictException: 409,
  ThrottlingException: 429,
  InternalServerException: 500,
  UnknownOperationException: 404,
}

const DOMAIN_CODES: Record<SchedulerErrorType, ErrorCode> = {
  ValidationException: 'VALIDATION',
  ResourceNotFoundException: 'NOT_FOUND',
  ConflictException: 'VALIDATION',
  ThrottlingException: 'ENGINE_THROTTLED',
  InternalServerException: 'ENGINE_UNAVAILABLE',
  UnknownOperationException: 'NOT_FOUND',
}

/**
 * An error the emulated Scheduler API reports to its caller. The HTTP layer turns it into the restJson1 error
 * (`x-amzn-ErrorType` header, `{ "Message" }` body, the model's status) so the AWS SDK raises the matching class.
 */
export class SchedulerApiError extends AcpError {
  readonly code: ErrorCode
  readonly status: number
  constructor(
    readonly type: SchedulerErrorType,
    message: string,
  ) {
    super(message)
    this.code = DOMAIN_CODES[type]
    this.status = STATUS[type]
  }
}

/** The service's ValidationException. */
export function validationError(message: string): SchedulerApiError {
  return new SchedulerApiError('ValidationException', message)
}

/** The service's ResourceNotFoundException. */
export function notFound(message: string): SchedulerApiError {
  return new SchedulerApiError('ResourceNotFoundException', message)
}

/** The service's ConflictException. */
export function conflict(message: string): SchedulerApiError {
  return new SchedulerApiError('ConflictException', message)
}

/** The service's throttling answer (429; the SDK retries it with backoff). */
export function throttled(message = 'Rate exceeded'): SchedulerApiError {
  return new SchedulerApiError('ThrottlingException', message)
}
