/** Runs `fn`, expecting it to throw; returns the error (and fails the test when nothing is thrown). */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}
