import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  type GetScheduleOutput,
  paginateListSchedules,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
  type UpdateScheduleCommandInput,
} from '@aws-sdk/client-scheduler'
import { type ScheduleDef, scheduleInput } from '../config/schedules.ts'

/** One schedule as it should be in the service, in the service's terms. */
export interface DesiredSchedule {
  name: string
  expression: string
  timezone: string
  /** 0 = FlexibleTimeWindow OFF. */
  flexibleWindowMinutes: number
  description: string
  state: 'ENABLED' | 'DISABLED'
  targetArn: string
  roleArn: string
  input: string
}

/** What a sync has to do to make the group hold exactly the desired schedules. */
export interface SchedulePlan {
  create: DesiredSchedule[]
  /** `changes` names what differs, e.g. `expression`, `timezone`. */
  update: Array<{ desired: DesiredSchedule; changes: string[] }>
  /** Names in the group that are not desired. */
  delete: string[]
  unchanged: string[]
}

/** The outcome of a sync; `failed` holds each schedule the service refused, with its message. */
export interface SyncReport {
  groupName: string
  dryRun: boolean
  created: string[]
  updated: Array<{ name: string; changes: string[] }>
  deleted: string[]
  unchanged: string[]
  failed: Array<{ name: string; error: string }>
}

/** A change as it is applied (or, in a dry run, planned), for progress output. */
export type SyncChange =
  | { kind: 'create'; name: string }
  | { kind: 'update'; name: string; changes: string[] }
  | { kind: 'delete'; name: string }
  | { kind: 'fail'; name: string; error: string }

export interface SyncOptions {
  /** Built by the caller with its retry policy (`maxAttempts`, retry mode): throttling is retried by the SDK. */
  client: SchedulerClient
  groupName: string
  targetArn: string
  roleArn: string
  schedules: readonly ScheduleDef[]
  /** Plan and report only; nothing in the service changes (not even the group is created). */
  dryRun: boolean
  onChange?: (change: SyncChange) => void
  /** ListSchedules page size; unset = the service's default. */
  pageSize?: number
}

/** The service's form of each schedule definition, all invoking `target` with the prewarm Input. */
export function desiredSchedules(
  schedules: readonly ScheduleDef[],
  target: { targetArn: string; roleArn: string },
): DesiredSchedule[] {
  return schedules.map((s) => ({
    name: s.name,
    expression: s.expression,
    timezone: s.timezone,
    flexibleWindowMinutes: s.flexibleWindowMinutes,
    description: s.description,
    state: s.enabled ? 'ENABLED' : 'DISABLED',
    targetArn: target.targetArn,
    roleArn: target.roleArn,
    input: scheduleInput(s.name),
  }))
}

/**
 * Compares desired schedules with what the group holds (GetSchedule answers). Pure; the service's defaults count
 * as unset (no timezone = UTC, no description = '', OFF window = 0 minutes, no ActionAfterCompletion = NONE), so a
 * schedule it echoes back is unchanged. Settings sync never sends (StartDate, EndDate, ActionAfterCompletion) count
 * as changes when present, since an update resets them.
 */
export function planScheduleSync(
  desired: readonly DesiredSchedule[],
  actual: readonly GetScheduleOutput[],
): SchedulePlan {
  const actualByName = new Map(actual.filter((a) => a.Name !== undefined).map((a) => [a.Name as string, a]))
  const plan: SchedulePlan = { create: [], update: [], delete: [], unchanged: [] }
  for (const d of desired) {
    const a = actualByName.get(d.name)
    if (!a) plan.create.push(d)
    else {
      const changes = differences(d, a)
      if (changes.length > 0) plan.update.push({ desired: d, changes })
      else plan.unchanged.push(d.name)
    }
  }
  const wanted = new Set(desired.map((d) => d.name))
  plan.delete = [...actualByName.keys()].filter((n) => !wanted.has(n)).sort()
  return plan
}

function differences(d: DesiredSchedule, a: GetScheduleOutput): string[] {
  const window =
    a.FlexibleTimeWindow?.Mode === 'FLEXIBLE' ? (a.FlexibleTimeWindow.MaximumWindowInMinutes ?? 0) : 0
  const checks: Array<[string, boolean]> = [
    ['expression', d.expression === a.ScheduleExpression],
    ['timezone', d.timezone === (a.ScheduleExpressionTimezone ?? 'UTC')],
    ['flexible window', d.flexibleWindowMinutes === window],
    ['state', d.state === (a.State ?? 'ENABLED')],
    ['description', d.description === (a.Description ?? '')],
    ['target', d.targetArn === a.Target?.Arn],
    ['role', d.roleArn === a.Target?.RoleArn],
    ['input', d.input === a.Target?.Input],
    ['start date', a.StartDate === undefined],
    ['end date', a.EndDate === undefined],
    ['action after completion', (a.ActionAfterCompletion ?? 'NONE') === 'NONE'],
  ]
  return checks.filter(([, same]) => !same).map(([name]) => name)
}

/** The whole schedule as CreateSchedule / UpdateSchedule take it (an update replaces every member). */
function scheduleRequest(d: DesiredSchedule, groupName: string): UpdateScheduleCommandInput {
  return {
    Name: d.name,
    GroupName: groupName,
    ScheduleExpression: d.expression,
    ScheduleExpressionTimezone: d.timezone,
    FlexibleTimeWindow:
      d.flexibleWindowMinutes > 0
        ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: d.flexibleWindowMinutes }
        : { Mode: 'OFF' },
    State: d.state,
    ...(d.description !== '' ? { Description: d.description } : {}),
    Target: { Arn: d.targetArn, RoleArn: d.roleArn, Input: d.input },
  }
}

/**
 * Makes the schedule group hold exactly `schedules`: creates the group when missing, creates, replaces and deletes
 * schedules, and leaves every other group alone. Races with another writer resolve to the desired state (a create
 * that meets an existing schedule replaces it; an update or delete of a vanished one creates it or is done). A
 * schedule the service refuses is reported in `failed` and the others go on.
 */
export async function syncSchedules(options: SyncOptions): Promise<SyncReport> {
  const { client, groupName, dryRun, onChange } = options
  const desired = desiredSchedules(options.schedules, options)
  const report: SyncReport = {
    groupName,
    dryRun,
    created: [],
    updated: [],
    deleted: [],
    unchanged: [],
    failed: [],
  }
  const groupExists = await ensureGroup(client, groupName, dryRun)
  const actual = groupExists ? await readGroup(client, groupName, options.pageSize) : []
  const plan = planScheduleSync(desired, actual)
  report.unchanged = plan.unchanged

  const attempt = async (name: string, work: () => Promise<void>) => {
    try {
      await work()
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      report.failed.push({ name, error })
      onChange?.({ kind: 'fail', name, error })
    }
  }
  const created = (name: string) => {
    report.created.push(name)
    onChange?.({ kind: 'create', name })
  }
  const updated = (name: string, changes: string[]) => {
    report.updated.push({ name, changes })
    onChange?.({ kind: 'update', name, changes })
  }

  for (const d of plan.create) {
    await attempt(d.name, async () => {
      if (dryRun) return created(d.name)
      try {
        await client.send(new CreateScheduleCommand(scheduleRequest(d, groupName)))
        created(d.name)
      } catch (err) {
        if (!(err instanceof ConflictException)) throw err
        // Someone created it since we listed: make it ours.
        await client.send(new UpdateScheduleCommand(scheduleRequest(d, groupName)))
        updated(d.name, ['created concurrently, replaced'])
      }
    })
  }
  for (const { desired: d, changes } of plan.update) {
    await attempt(d.name, async () => {
      if (dryRun) return updated(d.name, changes)
      try {
        await client.send(new UpdateScheduleCommand(scheduleRequest(d, groupName)))
        updated(d.name, changes)
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err
        // Deleted since we listed: create it again.
        await client.send(new CreateScheduleCommand(scheduleRequest(d, groupName)))
        created(d.name)
      }
    })
  }
  for (const name of plan.delete) {
    await attempt(name, async () => {
      if (!dryRun) {
        try {
          await client.send(new DeleteScheduleCommand({ Name: name, GroupName: groupName }))
        } catch (err) {
          // Already gone is what we wanted.
          if (!(err instanceof ResourceNotFoundException)) throw err
        }
      }
      report.deleted.push(name)
      onChange?.({ kind: 'delete', name })
    })
  }
  return report
}

/** Whether the group exists afterwards (in a dry run a missing group stays missing). */
async function ensureGroup(client: SchedulerClient, groupName: string, dryRun: boolean): Promise<boolean> {
  try {
    await client.send(new GetScheduleGroupCommand({ Name: groupName }))
    return true
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err
  }
  if (dryRun) return false
  try {
    await client.send(new CreateScheduleGroupCommand({ Name: groupName }))
  } catch (err) {
    // Another sync created it between our check and our create.
    if (!(err instanceof ConflictException)) throw err
  }
  return true
}

/** Every schedule of the group in full: ListSchedules summaries lack the role and Input, so each is read. */
async function readGroup(
  client: SchedulerClient,
  groupName: string,
  pageSize: number | undefined,
): Promise<GetScheduleOutput[]> {
  const names: string[] = []
  for await (const page of paginateListSchedules(
    { client, ...(pageSize !== undefined ? { pageSize } : {}) },
    { GroupName: groupName },
  )) {
    for (const s of page.Schedules ?? []) if (s.Name !== undefined) names.push(s.Name)
  }
  const schedules: GetScheduleOutput[] = []
  for (const name of names) {
    try {
      schedules.push(await client.send(new GetScheduleCommand({ Name: name, GroupName: groupName })))
    } catch (err) {
      // Deleted between the listing and the read: not there.
      if (!(err instanceof ResourceNotFoundException)) throw err
    }
  }
  return schedules
}
