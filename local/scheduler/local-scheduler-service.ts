import { type FiringState, initialCursor } from './schedule-firing.ts'
import { conflict, notFound, validationError } from './scheduler-api-error.ts'
import {
  type GroupSpec,
  type ListQuery,
  parseGroupRequest,
  parseListQuery,
  parseName,
  parseScheduleRequest,
} from './scheduler-requests.ts'

/** The account id in every ARN the local endpoint hands out. */
export const LOCAL_ACCOUNT_ID = '000000000000'
const DEFAULT_GROUP = 'default'
const DEFAULT_PAGE_SIZE = 100

/** A stored schedule: the last request that created or replaced it, plus what the service adds. */
export interface ScheduleRecord extends FiringState {
  name: string
  arn: string
  lastModificationMs: number
}

interface GroupRecord {
  name: string
  arn: string
  tags: GroupSpec['tags']
  creationMs: number
}

/** A JSON body of an answer, with timestamps in epoch seconds as restJson1 sends them. */
export type Output = Record<string, unknown>

/**
 * EventBridge Scheduler's API semantics over in-memory state: validation, groups, conflicts, idempotent
 * ClientTokens, pagination. Transport-free: the HTTP layer hands it path names, query strings and bodies.
 */
export class LocalSchedulerService {
  private readonly groups = new Map<string, GroupRecord>()
  /** Keyed `group/name`. */
  private readonly schedules = new Map<string, ScheduleRecord>()
  /** ClientToken of a create → the resource it created, so a retried create answers like the first one. */
  private readonly createTokens = new Map<string, string>()

  constructor(
    private readonly region: string,
    private readonly now: () => number,
  ) {
    this.groups.set(DEFAULT_GROUP, this.newGroup(DEFAULT_GROUP, [], now()))
  }

  /** CreateSchedule. */
  createSchedule(name: string, body: unknown): Output {
    const now = this.now()
    const spec = parseScheduleRequest(name, body, now)
    this.requireGroup(spec.groupName)
    const key = scheduleKey(spec.groupName, name)
    const existing = this.schedules.get(key)
    if (existing) {
      if (
        spec.clientToken !== undefined &&
        this.createTokens.get(tokenKey('schedule', spec.clientToken)) === key
      )
        return { ScheduleArn: existing.arn }
      throw conflict(`Schedule ${name} already exists.`)
    }
    const record: ScheduleRecord = {
      name,
      arn: this.arn(`schedule/${spec.groupName}/${name}`),
      spec,
      creationMs: now,
      lastModificationMs: now,
      cursorMs: initialCursor(spec, now),
    }
    this.schedules.set(key, record)
    if (spec.clientToken !== undefined) this.createTokens.set(tokenKey('schedule', spec.clientToken), key)
    return { ScheduleArn: record.arn }
  }

  /** UpdateSchedule: replaces the whole schedule; what the request leaves out is reset to its default. */
  updateSchedule(name: string, body: unknown): Output {
    const now = this.now()
    const spec = parseScheduleRequest(name, body, now)
    this.requireGroup(spec.groupName)
    const key = scheduleKey(spec.groupName, name)
    const existing = this.schedules.get(key)
    if (!existing) throw notFound(`Schedule ${name} does not exist.`)
    // The new definition applies from now on, and a scheduled time already handled never fires again.
    const replaced: ScheduleRecord = {
      ...existing,
      spec,
      lastModificationMs: now,
      cursorMs: Math.max(existing.cursorMs, now),
    }
    this.schedules.set(key, replaced)
    return { ScheduleArn: replaced.arn }
  }

  /** GetSchedule. */
  getSchedule(name: string, groupName: string | undefined): Output {
    const record = this.findSchedule(name, groupName)
    const { spec } = record
    return compact({
      Arn: record.arn,
      GroupName: spec.groupName,
      Name: record.name,
      ScheduleExpression: spec.scheduleExpression,
      StartDate: seconds(spec.startDateMs),
      EndDate: seconds(spec.endDateMs),
      Description: spec.description,
      ScheduleExpressionTimezone: spec.timezone,
      State: spec.state,
      CreationDate: seconds(record.creationMs),
      LastModificationDate: seconds(record.lastModificationMs),
      KmsKeyArn: spec.kmsKeyArn,
      Target: spec.target,
      FlexibleTimeWindow: spec.flexibleTimeWindow,
      ActionAfterCompletion: spec.actionAfterCompletion,
    })
  }

  /** DeleteSchedule. */
  deleteSchedule(name: string, groupName: string | undefined): Output {
    const record = this.findSchedule(name, groupName)
    this.schedules.delete(scheduleKey(record.spec.groupName, record.name))
    return {}
  }

  /** ListSchedules: sorted by group and name; the Target summary carries only the Arn, as in the service. */
  listSchedules(query: Record<string, string>): Output {
    const q = parseListQuery(query)
    if (q.ScheduleGroup !== undefined) this.requireGroup(q.ScheduleGroup)
    const matching = [...this.schedules.entries()]
      .filter(
        ([, r]) =>
          (q.ScheduleGroup === undefined || r.spec.groupName === q.ScheduleGroup) &&
          (q.NamePrefix === undefined || r.name.startsWith(q.NamePrefix)) &&
          (q.State === undefined || r.spec.state === q.State),
      )
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const { page, nextToken } = paginate(matching, q, 'schedules')
    return compact({
      Schedules: page.map(([, r]) => ({
        Arn: r.arn,
        Name: r.name,
        GroupName: r.spec.groupName,
        State: r.spec.state,
        CreationDate: seconds(r.creationMs),
        LastModificationDate: seconds(r.lastModificationMs),
        Target: { Arn: r.spec.target.Arn },
      })),
      NextToken: nextToken,
    })
  }

  /** CreateScheduleGroup. */
  createGroup(name: string, body: unknown): Output {
    const spec = parseGroupRequest(name, body)
    const existing = this.groups.get(name)
    if (existing) {
      if (
        spec.clientToken !== undefined &&
        this.createTokens.get(tokenKey('group', spec.clientToken)) === name
      )
        return { ScheduleGroupArn: existing.arn }
      throw conflict(`Schedule group ${name} already exists.`)
    }
    const group = this.newGroup(name, spec.tags, this.now())
    this.groups.set(name, group)
    if (spec.clientToken !== undefined) this.createTokens.set(tokenKey('group', spec.clientToken), name)
    return { ScheduleGroupArn: group.arn }
  }

  /** GetScheduleGroup. */
  getGroup(name: string): Output {
    return groupSummary(this.requireGroup(parseName(name, 'Name')))
  }

  /** ListScheduleGroups, sorted by name (`default` included). */
  listGroups(query: Record<string, string>): Output {
    const q = parseListQuery(query)
    const matching = [...this.groups.entries()]
      .filter(([n]) => q.NamePrefix === undefined || n.startsWith(q.NamePrefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const { page, nextToken } = paginate(matching, q, 'groups')
    return compact({ ScheduleGroups: page.map(([, g]) => groupSummary(g)), NextToken: nextToken })
  }

  /** DeleteScheduleGroup: deletes the group's schedules with it; `default` cannot be deleted. */
  deleteGroup(name: string): Output {
    const group = this.requireGroup(parseName(name, 'Name'))
    if (group.name === DEFAULT_GROUP) throw validationError('Cannot delete the default schedule group.')
    for (const [key, r] of this.schedules) if (r.spec.groupName === group.name) this.schedules.delete(key)
    this.groups.delete(group.name)
    return {}
  }

  /** Every stored schedule (for the firing loop). */
  allSchedules(): ScheduleRecord[] {
    return [...this.schedules.values()]
  }

  /** Sets the firing cursor of a schedule, if it is still the same record. */
  advance(record: ScheduleRecord, cursorMs: number): void {
    if (this.schedules.get(scheduleKey(record.spec.groupName, record.name)) === record)
      record.cursorMs = cursorMs
  }

  /** Removes a schedule after completion (ActionAfterCompletion DELETE), unless it was replaced meanwhile. */
  deleteIfUnchanged(record: ScheduleRecord): boolean {
    const key = scheduleKey(record.spec.groupName, record.name)
    if (this.schedules.get(key) !== record) return false
    this.schedules.delete(key)
    return true
  }

  private findSchedule(name: string, groupName: string | undefined): ScheduleRecord {
    parseName(name, 'Name')
    const group = groupName === undefined ? DEFAULT_GROUP : parseName(groupName, 'GroupName')
    this.requireGroup(group)
    const record = this.schedules.get(scheduleKey(group, name))
    if (!record) throw notFound(`Schedule ${name} does not exist.`)
    return record
  }

  private requireGroup(name: string): GroupRecord {
    const group = this.groups.get(name)
    if (!group) throw notFound(`Schedule group ${name} does not exist.`)
    return group
  }

  private newGroup(name: string, tags: GroupSpec['tags'], nowMs: number): GroupRecord {
    return { name, arn: this.arn(`schedule-group/${name}`), tags, creationMs: nowMs }
  }

  private arn(resource: string): string {
    return `arn:aws:scheduler:${this.region}:${LOCAL_ACCOUNT_ID}:${resource}`
  }
}

function scheduleKey(group: string, name: string): string {
  return `${group}/${name}`
}

function tokenKey(kind: 'schedule' | 'group', token: string): string {
  return `${kind}:${token}`
}

function groupSummary(g: GroupRecord): Output {
  return {
    Arn: g.arn,
    Name: g.name,
    State: 'ACTIVE',
    CreationDate: seconds(g.creationMs),
    LastModificationDate: seconds(g.creationMs),
  }
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000
}

/** Drops undefined members, which JSON would drop anyway, so answers look like the service's. */
function compact(o: Output): Output {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}

/**
 * One page after the key a NextToken names. Keyed rather than positional, so schedules created or deleted
 * between pages (a sync deleting while it lists) neither repeat nor skip the others.
 */
function paginate<T>(
  sorted: Array<[string, T]>,
  q: ListQuery,
  scope: string,
): { page: Array<[string, T]>; nextToken: string | undefined } {
  const size = q.MaxResults ?? DEFAULT_PAGE_SIZE
  let start = 0
  if (q.NextToken !== undefined) {
    const after = decodeToken(q.NextToken, scope)
    start = sorted.findIndex(([key]) => key > after)
    if (start === -1) start = sorted.length
  }
  const page = sorted.slice(start, start + size)
  const last = page.at(-1)
  const more = start + size < sorted.length
  return { page, nextToken: more && last ? encodeToken(last[0], scope) : undefined }
}

function encodeToken(afterKey: string, scope: string): string {
  return Buffer.from(JSON.stringify({ s: scope, a: afterKey })).toString('base64url')
}

function decodeToken(token: string, scope: string): string {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw validationError('Invalid NextToken.')
  }
  const { s, a } = (typeof decoded === 'object' && decoded !== null ? decoded : {}) as {
    s?: unknown
    a?: unknown
  }
  if (s !== scope || typeof a !== 'string') throw validationError('Invalid NextToken.')
  return a
}
