import { createServer, Socket } from 'node:net'

/**
 * A TCP proxy to `target` that can stall: while stalled it accepts connections and bytes but forwards nothing, like a
 * SIGSTOPped server whose kernel still holds the sockets. `stallOn(text)` stalls only the connections that send a
 * request containing `text` (an operation's `X-Amz-Target`), from that request on. `resume()` forwards what was held.
 * For in-process tests of the engine's deadlines (the multi-process tests stop a real process instead).
 */
export async function startStallProxy(target: { host: string; port: number }): Promise<{
  endpoint: string
  stall(): void
  stallOn(text: string): void
  resume(): void
  close(): Promise<void>
}> {
  let stalled = false
  let stallText: string | undefined
  const held: Array<() => void> = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    sockets.add(client)
    const upstream = new Socket()
    sockets.add(upstream)
    // Once one request of a connection stalls, everything after it on that connection does too (order is kept).
    let connectionStalled = false
    const forward = (from: Socket, to: Socket, inspect: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (inspect && stallText !== undefined && chunk.includes(stallText)) connectionStalled = true
        if (stalled || (connectionStalled && stallText !== undefined)) held.push(() => to.write(chunk))
        else to.write(chunk)
      })
    upstream.connect(target.port, target.host)
    forward(client, upstream, true)
    forward(upstream, client, false)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', drop).on('error', drop)
    upstream.on('close', drop).on('error', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stall() {
      stalled = true
    },
    stallOn(text: string) {
      stallText = text
    },
    resume() {
      stalled = false
      stallText = undefined
      for (const send of held.splice(0)) send()
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
