import { connect } from 'node:net'

/**
 * Sends raw bytes to a local HTTP server and reads the whole answer (the server closes the connection), failing
 * after `timeoutMs` rather than waiting on a server that never closes.
 */
export function rawHttp(port: number, payload: string, timeoutMs = 10_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(payload))
    let out = ''
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${JSON.stringify(out.slice(0, 200))}`))
    })
    socket.on('data', (d) => {
      out += d.toString('latin1')
    })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
  })
}
