import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_POLL_PLAN, nextPollDelay, type PollPlan } from '../../src/athena/poll-schedule.ts'
import { type PollStatus, pollUntilDone } from '../../src/athena/poll-until-done.ts'

const noJitter = () => 0.5
const plan: PollPlan = { ...DEFAULT_POLL_PLAN }

/** The poll times (ms after start) the schedule produces until `doneAtMs`, with jitter fixed at its midpoint. */
function simulate(p: PollPlan, doneAtMs: number, random = noJitter): number[] {
  const times: number[] = []
  let t = 0
  for (let attempt = 0; attempt < 200; attempt++) {
    t += nextPollDelay(attempt, t, p, random)
    times.push(t)
    if (t >= doneAtMs) return times
  }
  throw new Error('never finished')
}

describe('nextPollDelay', () => {
  it('backs off exponentially when nothing is known: few calls, bounded overshoot', () => {
    for (const doneAt of [2_050, 30_050]) {
      const polls = simulate(plan, doneAt)
      const overshoot = (polls.at(-1) as number) - doneAt
      expect(polls.length).toBeLessThanOrEqual(15)
      expect(overshoot / doneAt).toBeLessThanOrEqual(0.25)
    }
    // every interval is a fraction of the time waited, never below the floor, never above the cap
    const polls = simulate(plan, 120_000)
    const gaps = polls.slice(1).map((t, i) => t - (polls[i] as number))
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(plan.minIntervalMs)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(plan.maxIntervalMs)
    expect(polls[0]).toBe(plan.initialDelayMs)
  })

  it('with history, polls near the expected completion: ≤ 6 calls, overshoot ≤ 100 ms + 5%', () => {
    for (const expectedMs of [2_000, 30_000]) {
      for (const actual of [expectedMs * 0.9, expectedMs, expectedMs * 1.08]) {
        const polls = simulate({ ...plan, expectedMs }, actual)
        expect(polls.length).toBeLessThanOrEqual(6)
        expect((polls.at(-1) as number) - actual).toBeLessThanOrEqual(100 + 0.05 * actual)
      }
    }
  })

  it('hedges with one early poll so a much faster run is not held to its history', () => {
    const polls = simulate({ ...plan, expectedMs: 30_000 }, 300)
    expect(polls).toHaveLength(1)
    expect(polls[0]).toBeGreaterThanOrEqual(plan.initialDelayMs)
    expect(polls[0]).toBeLessThanOrEqual(plan.initialDelayMs * 1.02)
  })

  it('falls back to backoff when a run is far slower than its history', () => {
    const polls = simulate({ ...plan, expectedMs: 1_000 }, 60_000)
    expect(polls.length).toBeLessThan(30)
    expect((polls.at(-1) as number) - 60_000).toBeLessThanOrEqual(plan.maxIntervalMs * 1.1)
  })

  it('with history, keeps every look close to its aim whatever the jitter', () => {
    for (const random of [() => 0, () => 0.999999]) {
      const polls = simulate({ ...plan, expectedMs: 30_000 }, 30_000, random)
      expect(polls.length).toBeLessThanOrEqual(4)
      expect((polls.at(-1) as number) - 30_000).toBeLessThanOrEqual(100 + 0.05 * 30_000)
    }
  })

  it('applies ± jitter around the plan', () => {
    const low = nextPollDelay(5, 10_000, plan, () => 0)
    const high = nextPollDelay(5, 10_000, plan, () => 0.999999)
    const mid = nextPollDelay(5, 10_000, plan, noJitter)
    expect(low).toBeLessThan(mid)
    expect(high).toBeGreaterThan(mid)
    expect(low).toBeGreaterThanOrEqual(Math.floor(mid * (1 - plan.jitter)))
    expect(high).toBeLessThanOrEqual(Math.ceil(mid * (1 + plan.jitter)))
  })
})

describe('pollUntilDone (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('waits the scheduled delays and returns the value', async () => {
    const calls: number[] = []
    const promise = pollUntilDone<string>({
      startedAt: Date.now(),
      deadline: Date.now() + 10_000,
      nextDelayMs: (attempt) => 100 * (attempt + 1),
      check: async (): Promise<PollStatus<string>> => {
        calls.push(Date.now())
        return calls.length < 3 ? { kind: 'keep-waiting' } : { kind: 'done', value: 'ok' }
      },
    })
    const t0 = Date.now()
    await vi.advanceTimersByTimeAsync(600)
    await expect(promise).resolves.toEqual({ kind: 'done', value: 'ok', attempts: 3 })
    expect(calls.map((t) => t - t0)).toEqual([100, 300, 600])
  })

  it('stops at the deadline, with a last look at the deadline itself', async () => {
    let checks = 0
    const start = Date.now()
    const promise = pollUntilDone({
      startedAt: start,
      deadline: start + 1_000,
      nextDelayMs: () => 400,
      check: async () => {
        checks++
        return { kind: 'keep-waiting' } as const
      },
    })
    await vi.advanceTimersByTimeAsync(1_500)
    await expect(promise).resolves.toMatchObject({ kind: 'timeout', attempts: 3 })
    expect(checks).toBe(3) // at 400, 800, 1000
    expect(vi.getTimerCount()).toBe(0)
  })

  it('returns aborted promptly and clears its timer', async () => {
    const controller = new AbortController()
    const promise = pollUntilDone({
      startedAt: Date.now(),
      deadline: Date.now() + 60_000,
      nextDelayMs: () => 10_000,
      signal: controller.signal,
      check: async () => ({ kind: 'keep-waiting' }) as const,
    })
    await vi.advanceTimersByTimeAsync(50)
    controller.abort()
    await expect(promise).resolves.toEqual({ kind: 'aborted', attempts: 0 })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('propagates a failing status call', async () => {
    const promise = pollUntilDone({
      startedAt: Date.now(),
      deadline: Date.now() + 60_000,
      nextDelayMs: () => 10,
      check: async () => {
        throw new Error('boom')
      },
    })
    const assertion = expect(promise).rejects.toThrow('boom')
    await vi.advanceTimersByTimeAsync(20)
    await assertion
  })
})
