import { ValidationError } from '../src/errors.ts'
import { invalidRequest } from './athena-api-error.ts'
import { parseS3Uri, type S3Location } from './s3-location.ts'

/** The work-group result location the local endpoint assumes when none is configured otherwise. */
export const DEFAULT_WORK_GROUP_OUTPUT_LOCATION = 's3://acp-local-results/athena/'

/** Athena's answer to a StartQueryExecution with neither a request nor a work-group output location. */
export const NO_OUTPUT_LOCATION_MESSAGE =
  'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.'

/**
 * The output location an execution writes to, as Athena chooses it: the request's
 * `ResultConfiguration.OutputLocation`, else the work group's configured one, else InvalidRequestException.
 */
export function resolveOutputLocation(
  requested: string | undefined,
  workGroupLocation: string | null,
): { uri: string; location: S3Location } {
  const uri = requested ?? workGroupLocation
  if (uri === null) throw invalidRequest(NO_OUTPUT_LOCATION_MESSAGE)
  const location = parseS3Uri(uri)
  if (location === undefined) {
    throw invalidRequest(
      `outputLocation is not a valid S3 path: ${uri} (expected s3://<bucket>/<prefix>/ with a valid bucket name)`,
    )
  }
  return { uri, location }
}

/** Validates a work-group output location given as an option (thrown at start-up, not per request). */
export function checkWorkGroupOutputLocation(uri: string | null): string | null {
  if (uri !== null && parseS3Uri(uri) === undefined)
    throw new ValidationError(`workGroupOutputLocation must be s3://<bucket>/<prefix>/, got ${uri}`)
  return uri
}
