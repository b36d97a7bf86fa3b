import { GroupDeletions } from './group-deletions.ts'
import { paginate } from './list-pages.ts'
import { type FiringState, initialCursor } from './schedule-firing.ts'
import { conflict, notFound, type SchedulerApiError, validationError } from './scheduler-api-error.ts'
import {
  parseClientToken,
  parseGroupRequest,
  parseListQuery,
  parseName,
  parseScheduleRequest,
} from './scheduler-requests.ts'
import {
  MAX_TAGS,
  parseTagKeys,
  parseTagResourceArn,
  parseTagResourceBody,
  type Tag,
} from './tag-requests.ts'

/** The account id in every ARN the local endpoint hands out. */
export const LOCAL_ACCOUNT_ID = '000000000000'
const DEFAULT_GROUP = 'default'

/** A stored schedule: the last request that created or replaced it, plus what the service adds. */
export interface ScheduleRecord extends FiringState {
  name: string
  arn: string
  lastModificationMs: number
}

interface GroupRecord {
  name: string
  arn: string
  /** Insertion order, which ListTagsForResource answers in; a re-tagged key keeps its place. */
  tags: Map<string, string>
  creationMs: number
  state: 'ACTIVE' | 'DELETING'
  /** The ClientToken of the DeleteScheduleGroup that started the deletion, so its retry answers like it. */
  deleteToken?: string | undefined
}

export interface LocalSchedulerServiceOptions {
  /** Region in the ARNs. */
  region: string
  /** The clock (ms since the epoch). */
  now: () => number
  /** How long a deleted group stays DELETING before it and its schedules are gone; 0 = at once. */
  groupDeletionMs: number
}

/** A JSON body of an answer, with timestamps in epoch seconds as restJson1 sends them. */
export type Output = Record<string, unknown>

/**
 * EventBridge Scheduler's API semantics over in-memory state: validation, groups (their tags, their asynchronous
 * deletion), conflicts, idempotent ClientTokens, pagination. Transport-free: the HTTP layer hands it path names,
 * query strings and bodies; its only timers are the pending group deletions, cancelled by `dispose()`.
 */
export class LocalSchedulerService {
  private readonly groups = new Map<string, GroupRecord>()
  /** Keyed `group/name`. */
  private readonly schedules = new Map<string, ScheduleRecord>()
  /** ClientToken of a create → the resource it created, so a retried create answers like the first one. */
  private readonly createTokens = new Map<string, string>()

  private readonly deletions: GroupDeletions
  private readonly region: string
  private readonly now: () => number

  constructor(options: LocalSchedulerServiceOptions) {
    this.region = options.region
    this.now = options.now
    this.deletions = new GroupDeletions(options.groupDeletionMs)
    this.groups.set(DEFAULT_GROUP, this.newGroup(DEFAULT_GROUP, [], this.now()))
  }

  /** CreateSchedule. */
  createSchedule(name: string, body: unknown): Output {
    const now = this.now()
    const spec = parseScheduleRequest(name, body, now)
    this.requireActiveGroup(spec.groupName)
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
    this.requireActiveGroup(spec.groupName)
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
      if (existing.state === 'DELETING') throw beingDeleted(name)
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

  /**
   * DeleteScheduleGroup, asynchronous as in the service: the group turns DELETING, then after `groupDeletionMs`
   * it and its schedules are gone. `default` cannot be deleted.
   */
  deleteGroup(name: string, clientToken: string | undefined): Output {
    parseName(name, 'Name')
    const token = parseClientToken(clientToken)
    const group = this.requireGroup(name)
    if (group.name === DEFAULT_GROUP) throw validationError('Cannot delete the default schedule group.')
    if (group.state === 'DELETING') {
      if (token !== undefined && token === group.deleteToken) return {}
      throw beingDeleted(group.name)
    }
    group.state = 'DELETING'
    group.deleteToken = token
    this.deletions.start(group.name, () => this.finishGroupDeletion(group))
    return {}
  }

  /** TagResource: adds the tags to a schedule group, replacing the values of keys it already has. */
  tagResource(arn: string, body: unknown): Output {
    const name = parseTagResourceArn(arn)
    const tags = parseTagResourceBody(body)
    const group = this.groupOfArn(arn, name)
    this.requireTagsEditable(group, 'tag')
    const merged = new Map(group.tags)
    for (const { Key, Value } of tags) merged.set(Key, Value)
    if (merged.size > MAX_TAGS)
      throw validationError(
        `A schedule group can have at most ${MAX_TAGS} tags; this request would leave it ${merged.size}.`,
      )
    group.tags = merged
    return {}
  }

  /** UntagResource: removes the keys from a schedule group; absent keys are ignored. */
  untagResource(arn: string, tagKeys: string[] | undefined): Output {
    const name = parseTagResourceArn(arn)
    const keys = parseTagKeys(tagKeys)
    const group = this.groupOfArn(arn, name)
    this.requireTagsEditable(group, 'untag')
    for (const key of keys) group.tags.delete(key)
    return {}
  }

  /** ListTagsForResource. */
  listTags(arn: string): Output {
    const group = this.groupOfArn(arn, parseTagResourceArn(arn))
    return { Tags: [...group.tags].map(([Key, Value]) => ({ Key, Value })) }
  }

  /** Every schedule that may fire: those of groups being deleted never fire again. */
  schedulesToFire(): ScheduleRecord[] {
    return [...this.schedules.values()].filter((r) => this.groups.get(r.spec.groupName)?.state === 'ACTIVE')
  }

  /** Cancels the pending group deletions (the endpoint is closing; its state goes with it). */
  dispose(): void {
    this.deletions.clear()
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

  /** A group schedules can be created in or changed in: it exists and is not being deleted. */
  private requireActiveGroup(name: string): GroupRecord {
    const group = this.requireGroup(name)
    if (group.state === 'DELETING') throw beingDeleted(name)
    return group
  }

  /** The group an ARN of the tag operations designates; another region's or account's ARN designates none. */
  private groupOfArn(arn: string, name: string): GroupRecord {
    const group = this.groups.get(name)
    if (!group || group.arn !== arn) throw notFound(`Schedule group ${name} does not exist.`)
    return group
  }

  private requireTagsEditable(group: GroupRecord, verb: 'tag' | 'untag'): void {
    if (group.name === DEFAULT_GROUP) throw validationError(`Cannot ${verb} the default schedule group.`)
    if (group.state === 'DELETING') throw beingDeleted(group.name)
  }

  /** The end of an asynchronous deletion: the group and its schedules disappear. */
  private finishGroupDeletion(group: GroupRecord): void {
    if (this.groups.get(group.name) !== group) return
    for (const [key, r] of this.schedules) if (r.spec.groupName === group.name) this.schedules.delete(key)
    this.groups.delete(group.name)
  }

  private newGroup(name: string, tags: Tag[], nowMs: number): GroupRecord {
    const tagMap = new Map(tags.map((t) => [t.Key, t.Value]))
    return { name, arn: this.arn(`schedule-group/${name}`), tags: tagMap, creationMs: nowMs, state: 'ACTIVE' }
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

function beingDeleted(group: string): SchedulerApiError {
  return conflict(`Schedule group ${group} is being deleted.`)
}

function groupSummary(g: GroupRecord): Output {
  return {
    Arn: g.arn,
    Name: g.name,
    State: g.state,
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
