import { z } from 'zod'
import { ConfigError } from '../errors.ts'
import { SCHEDULE_NAME_PATTERN } from './schedules.ts'

const arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:\S+$/, 'must be an ARN')
// The pattern the service applies to Target.RoleArn.
const roleArn = z
  .string()
  .regex(/^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN')

/** The environment the `acp schedules` commands read. */
const envSchema = z.object({
  SCHEDULER_ENDPOINT: z.url().optional(),
  PREWARM_TARGET_ARN: arn.optional(),
  SCHEDULER_ROLE_ARN: roleArn.optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  CACHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only (1–64 characters)')
    .default('acp'),
  SCHEDULE_GROUP: z.string().optional(),
  CONFIG_DIR: z.string().min(1).default('./wrangler-free-config'),
})

/** Where the prewarm schedules live and what they invoke. */
export interface SchedulerConfig {
  /** Unset = AWS's regional endpoint; set for the local endpoint (`acp local-scheduler`). */
  endpoint: string | undefined
  region: string
  /** The Lambda the schedules invoke; needed only to sync. */
  targetArn: string | undefined
  /** The role EventBridge Scheduler assumes to invoke it; needed only to sync. */
  roleArn: string | undefined
  /** SCHEDULE_GROUP, default `<CACHE_PREFIX>-prewarm`: the group holding exactly the schedules of `schedules.yaml`. */
  groupName: string
  configDir: string
}

/** Parses the scheduler settings; a bad value throws a ConfigError naming the variable. */
export function loadSchedulerConfig(env: Record<string, string | undefined>): SchedulerConfig {
  // Empty strings mean "unset", as in loadConfig.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = envSchema.safeParse(cleaned)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${String(i.path[0] ?? '(env)')}: ${i.message}`)
    throw new ConfigError(`Invalid scheduler configuration:\n  ${lines.join('\n  ')}`)
  }
  const e = parsed.data
  // Key prefixes may hold ':' (Redis namespaces), which group names do not allow: the default maps it to '-'.
  const groupName = e.SCHEDULE_GROUP ?? `${e.CACHE_PREFIX.replaceAll(':', '-')}-prewarm`
  if (!SCHEDULE_NAME_PATTERN.test(groupName))
    throw new ConfigError(
      `Invalid scheduler configuration:\n  SCHEDULE_GROUP: '${groupName}' is not a valid group name: group names ` +
        'allow only letters, digits, - _ and . (1–64 characters)',
    )
  return {
    endpoint: e.SCHEDULER_ENDPOINT,
    region: e.AWS_REGION,
    targetArn: e.PREWARM_TARGET_ARN,
    roleArn: e.SCHEDULER_ROLE_ARN,
    groupName,
    configDir: e.CONFIG_DIR,
  }
}

/** The target and role a sync needs; a ConfigError naming what is missing otherwise. */
export function requireSyncTargets(config: SchedulerConfig): { targetArn: string; roleArn: string } {
  const missing = [
    config.targetArn === undefined
      ? 'PREWARM_TARGET_ARN (the ARN of the Lambda the schedules invoke)'
      : undefined,
    config.roleArn === undefined
      ? 'SCHEDULER_ROLE_ARN (the IAM role EventBridge Scheduler assumes to invoke it)'
      : undefined,
  ].filter((m) => m !== undefined)
  if (config.targetArn === undefined || config.roleArn === undefined)
    throw new ConfigError(`Syncing schedules needs ${missing.join(' and ')}`)
  return { targetArn: config.targetArn, roleArn: config.roleArn }
}
