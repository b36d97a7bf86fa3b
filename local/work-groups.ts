import { z } from 'zod'
import { ValidationError } from '../src/errors.ts'
import { invalidRequest } from './athena-api-error.ts'
import { workGroupName } from './athena-requests.ts'
import { parseS3Uri } from './s3-location.ts'

/** The work group every Athena account has (it cannot be deleted), used when a request names none. */
export const PRIMARY_WORK_GROUP = 'primary'

/** The engine every local query runs on, whatever a work group selects. */
export const EFFECTIVE_ENGINE_VERSION = 'Athena engine version 3'

/** What a work group may select: `AUTO` (the default) or the one engine version the endpoint emulates. */
export const ENGINE_VERSIONS = ['AUTO', EFFECTIVE_ENGINE_VERSION] as const

/** Athena's answer for a work group that does not exist (GetWorkGroup, StartQueryExecution, ListQueryExecutions). */
export const WORK_GROUP_NOT_FOUND_MESSAGE = 'WorkGroup is not found.'

/** One work group as `startLocalAthena({ workGroups })` and `acp local-athena --work-groups <file>` configure it. */
export const workGroupConfigSchema = z.strictObject({
  name: workGroupName,
  description: z.string().max(1024).optional(),
  /**
   * The result location of queries that name none (`ResultConfiguration.OutputLocation`); absent: the endpoint's
   * `workGroupOutputLocation`; `null`: none, so requests must carry one.
   */
  outputLocation: z.string().nullable().optional(),
  /** Athena's `EnforceWorkGroupConfiguration`: the work group's output location overrides the request's. */
  enforceWorkGroupConfiguration: z.boolean().optional(),
  publishCloudWatchMetricsEnabled: z.boolean().optional(),
  requesterPaysEnabled: z.boolean().optional(),
  engineVersion: z.enum(ENGINE_VERSIONS).optional(),
})

export type WorkGroupConfig = z.infer<typeof workGroupConfigSchema>

/** A work group with every setting resolved. */
export interface WorkGroup {
  name: string
  description: string | undefined
  outputLocation: string | null
  enforceWorkGroupConfiguration: boolean
  publishCloudWatchMetricsEnabled: boolean
  requesterPaysEnabled: boolean
  engineVersion: (typeof ENGINE_VERSIONS)[number]
  /** Epoch ms: when the endpoint started (the work groups exist from then on). */
  creationTime: number
}

/**
 * The endpoint's work groups: `primary` always, plus the configured ones (a configured `primary` replaces its
 * defaults). Looked up by exact name, as Athena does.
 */
export class WorkGroups {
  private readonly byName = new Map<string, WorkGroup>()

  constructor(configs: readonly WorkGroupConfig[], defaultOutputLocation: string | null, now = Date.now()) {
    const parsed = configs.map(parseConfig)
    const names = parsed.map((c) => c.name)
    const twice = names.find((name, i) => names.indexOf(name) !== i)
    if (twice !== undefined) throw new ValidationError(`work group ${twice} is configured twice`)
    // primary first, so a configured primary replaces the default one.
    for (const config of [{ name: PRIMARY_WORK_GROUP }, ...parsed]) {
      const outputLocation =
        config.outputLocation === undefined ? defaultOutputLocation : config.outputLocation
      if (outputLocation !== null && parseS3Uri(outputLocation) === undefined) {
        throw new ValidationError(
          `work group ${config.name}: outputLocation must be s3://<bucket>/<prefix>/, got ${outputLocation}`,
        )
      }
      this.byName.set(config.name, {
        name: config.name,
        description: config.description === '' ? undefined : config.description,
        outputLocation,
        enforceWorkGroupConfiguration: config.enforceWorkGroupConfiguration ?? false,
        publishCloudWatchMetricsEnabled: config.publishCloudWatchMetricsEnabled ?? false,
        requesterPaysEnabled: config.requesterPaysEnabled ?? false,
        engineVersion: config.engineVersion ?? 'AUTO',
        creationTime: now,
      })
    }
  }

  /** The work group a request names (`primary` when it names none); InvalidRequestException when it does not exist. */
  get(name: string | undefined): WorkGroup {
    const group = this.byName.get(name ?? PRIMARY_WORK_GROUP)
    if (group === undefined) throw invalidRequest(WORK_GROUP_NOT_FOUND_MESSAGE)
    return group
  }

  /** Every work group, in name order (as ListWorkGroups answers). */
  list(): WorkGroup[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** The buckets of the work groups' result locations (they exist from start-up, as on AWS). */
  buckets(): string[] {
    const buckets = this.list().map((g) =>
      g.outputLocation === null ? undefined : parseS3Uri(g.outputLocation)?.bucket,
    )
    return [...new Set(buckets.filter((b): b is string => b !== undefined))]
  }
}

/**
 * The two arguments of `resolveOutputLocation` for a request in `group`: with EnforceWorkGroupConfiguration the
 * work group's location wins over the request's (when it has one), as on Athena.
 */
export function outputLocationChoice(
  group: WorkGroup,
  requested: string | undefined,
): [requested: string | undefined, workGroupLocation: string | null] {
  const enforced = group.enforceWorkGroupConfiguration && group.outputLocation !== null
  return [enforced ? undefined : requested, group.outputLocation]
}

/** GetWorkGroup's `WorkGroup`, member for member as Athena answers it (no Description key when there is none). */
export function toWireWorkGroup(group: WorkGroup): Record<string, unknown> {
  return {
    Name: group.name,
    State: 'ENABLED',
    Configuration: {
      ResultConfiguration: group.outputLocation === null ? {} : { OutputLocation: group.outputLocation },
      EnforceWorkGroupConfiguration: group.enforceWorkGroupConfiguration,
      PublishCloudWatchMetricsEnabled: group.publishCloudWatchMetricsEnabled,
      RequesterPaysEnabled: group.requesterPaysEnabled,
      EngineVersion: engineVersion(group),
      EnableMinimumEncryptionConfiguration: false,
    },
    ...(group.description === undefined ? {} : { Description: group.description }),
    CreationTime: group.creationTime / 1000,
  }
}

/** One ListWorkGroups entry (Description is the empty string when there is none, as on Athena). */
export function toWireWorkGroupSummary(group: WorkGroup): Record<string, unknown> {
  return {
    Name: group.name,
    State: 'ENABLED',
    Description: group.description ?? '',
    CreationTime: group.creationTime / 1000,
    EngineVersion: engineVersion(group),
  }
}

function engineVersion(group: WorkGroup): Record<string, string> {
  return { SelectedEngineVersion: group.engineVersion, EffectiveEngineVersion: EFFECTIVE_ENGINE_VERSION }
}

/** Validates one work group of the option or the file, naming it in the error. */
export function parseConfig(raw: unknown): WorkGroupConfig {
  const parsed = workGroupConfigSchema.safeParse(raw)
  if (parsed.success) return parsed.data
  const name = typeof raw === 'object' && raw !== null && 'name' in raw ? String(raw.name) : '(unnamed)'
  const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ')
  throw new ValidationError(`work group ${name}: ${reasons}`)
}
