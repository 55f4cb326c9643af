/**
 * The benchmark's load generator, run in its own process (forked by `ingest.ts`) so that it does not
 * take the server's CPU. One client for every target: node:http over keep-alive connections, the
 * same form-encoded event body (a new record id each time, so that every event is a new one).
 *
 * Two loads, asked for by a message from the parent:
 * - `closed`: `connections` requests in flight at all times for `durationMs` (throughput);
 * - `open`: `rate` requests a second for `durationMs`, each sent at its own due time whether or not
 *   earlier ones were answered; latency is counted from the due time, so a stalled server is not
 *   hidden by a client that waits for it (no coordinated omission).
 */
import { Agent, request } from "node:http"

export interface LoadRequest {
  readonly kind: "closed" | "open"
  readonly url: string
  readonly durationMs: number
  readonly connections: number
  /** Requests a second (`open` only). */
  readonly rate?: number
  readonly domain: string
  readonly applicationToken: string
  /** Distinguishes the record ids of one run from another's. */
  readonly runId: string
}

export interface LoadResult {
  readonly ok: number
  readonly failed: number
  readonly seconds: number
  /** Latencies in milliseconds, sorted (`open` only). */
  readonly latencies: ReadonlyArray<number>
}

const encode = encodeURIComponent

/** The body a portal sends for a deal update (PHP `http_build_query` form, keys bracketed). */
const bodyFor = (load: LoadRequest, sequence: number) =>
  Buffer.from(
    [
      "event=ONCRMDEALUPDATE",
      "event_handler_id=1",
      `data${encode("[FIELDS][ID]")}=${load.runId}${sequence}`,
      `ts=${Math.floor(Date.now() / 1000)}`,
      `auth${encode("[domain]")}=${encode(load.domain)}`,
      `auth${encode("[client_endpoint]")}=${encode(`https://${load.domain}/rest/`)}`,
      `auth${encode("[server_endpoint]")}=${encode("https://oauth.bitrix.info/rest/")}`,
      `auth${encode("[member_id]")}=bench`,
      `auth${encode("[application_token]")}=${encode(load.applicationToken)}`
    ].join("&")
  )

const run = async (load: LoadRequest): Promise<LoadResult> => {
  const agent = new Agent({ keepAlive: true, maxSockets: load.connections })
  const target = new URL(load.url)
  let sequence = 0
  let ok = 0
  let failed = 0
  const post = () =>
    new Promise<void>((resolve) => {
      const body = bodyFor(load, ++sequence)
      const outgoing = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length }
        },
        (response) => {
          response.resume()
          response.on("end", () => {
            if (response.statusCode === 200) ok++
            else failed++
            resolve()
          })
        }
      )
      outgoing.on("error", () => {
        failed++
        resolve()
      })
      outgoing.end(body)
    })

  const started = performance.now()
  const deadline = started + load.durationMs
  const latencies: Array<number> = []
  if (load.kind === "closed") {
    await Promise.all(
      Array.from({ length: load.connections }, async () => {
        while (performance.now() < deadline) await post()
      })
    )
  } else {
    const interval = 1000 / (load.rate ?? 1000)
    const total = Math.floor(load.durationMs / interval)
    const pending: Array<Promise<void>> = []
    let sent = 0
    while (sent < total) {
      // Send everything that is due (timers fire late; the due time, not the send time, is the start).
      const now = performance.now()
      while (sent < total && started + sent * interval <= now) {
        const due = started + sent * interval
        pending.push(post().then(() => void latencies.push(performance.now() - due)))
        sent++
      }
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await Promise.all(pending)
    latencies.sort((left, right) => left - right)
  }
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return { ok, failed, seconds, latencies }
}

process.on("message", (load: LoadRequest) => {
  void run(load).then((result) => process.send?.(result))
})
