import { describe, expect, it } from 'vitest'
import { CacheUnavailableError, GuardedCacheStore } from '../../src/cache/guarded-cache-store.ts'
import { MemoryCacheStore } from '../../src/cache/memory-cache-store.ts'
import { ChaosCacheStore } from '../helpers/chaos-cache-store.ts'

describe('GuardedCacheStore (circuit breaker)', () => {
  function setup() {
    let now = 1_000
    const chaos = new ChaosCacheStore(new MemoryCacheStore({ maxBytes: 1024 * 1024 }))
    const states: string[] = []
    const store = new GuardedCacheStore(chaos, {
      failureThreshold: 3,
      openMs: 1_000,
      now: () => now,
      onStateChange: (s) => states.push(s),
    })
    return { chaos, store, states, advance: (ms: number) => (now += ms) }
  }

  it('passes calls through while healthy', async () => {
    const { store } = setup()
    await store.set('k', Buffer.from('v'), 60_000)
    expect((await store.get('k'))?.toString()).toBe('v')
    expect(store.status().state).toBe('closed')
  })

  it('opens after consecutive failures, then fails fast without calling the backend', async () => {
    const { chaos, store, states } = setup()
    chaos.failing = true
    for (let i = 0; i < 3; i++) await expect(store.get('k')).rejects.toBeInstanceOf(CacheUnavailableError)
    expect(store.status().state).toBe('open')
    const callsWhenOpened = chaos.calls
    for (let i = 0; i < 50; i++) await expect(store.get('k')).rejects.toBeInstanceOf(CacheUnavailableError)
    expect(chaos.calls).toBe(callsWhenOpened)
    expect(states).toEqual(['open'])
  })

  it('lets one probe through after openMs; success closes, failure re-opens', async () => {
    const { chaos, store, states, advance } = setup()
    chaos.failing = true
    for (let i = 0; i < 3; i++) await store.get('k').catch(() => {})
    advance(1_001)
    await expect(store.get('k')).rejects.toThrow() // the probe fails → open again
    expect(store.status().state).toBe('open')
    advance(500)
    const before = chaos.calls
    await expect(store.get('k')).rejects.toThrow()
    expect(chaos.calls).toBe(before) // still inside the new open window
    advance(600)
    chaos.failing = false
    await expect(store.get('k')).resolves.toBeNull()
    expect(store.status().state).toBe('closed')
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed'])
  })

  it('a success resets the failure count', async () => {
    const { chaos, store } = setup()
    chaos.failing = true
    await store.get('k').catch(() => {})
    await store.get('k').catch(() => {})
    chaos.failing = false
    await store.get('k')
    chaos.failing = true
    await store.get('k').catch(() => {})
    await store.get('k').catch(() => {})
    expect(store.status().state).toBe('closed')
  })
})
