/**
 * The clients compared, each reduced to "send message i": the baselines (a plain `fetch` loop and a
 * `node:http` keep-alive loop, the client side's physical limit), Linecast's core, Bitrix24's own JS
 * SDK and `@2bad/bitrix`. Every one sends the same `imopenlines.network.message.add` call.
 */
import { readFileSync } from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import { rootCertificates } from "node:tls"
import { Bitrix } from "@2bad/bitrix"
import { B24Hook } from "@bitrix24/b24jssdk"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { OpenChannel, PortalAuth, RateBudget, RetryPolicy, TokenStore } from "@linecast/core"
import { Effect, Layer, ManagedRuntime } from "effect"

export const method = "imopenlines.network.message.add"

export interface Target {
  readonly webhookUrl: string
  readonly lineCode: string
  readonly users: ReadonlyArray<number>
}

export interface Bucket {
  readonly limit: number
  readonly drainPerSecond: number
}

export interface Client {
  readonly send: (index: number) => Promise<unknown>
  readonly close: () => Promise<void>
}

/** The text of message `index`: unique, so that the inbox tells duplicates apart. */
export const text = (index: number, tag = "bench") => `${tag} ${index}`

const params = (target: Target, index: number, tag?: string) => ({
  CODE: target.lineCode,
  USER_ID: target.users[index % target.users.length]!,
  MESSAGE: text(index, tag)
})

/** The answer of a plain call: `result` or a thrown error with Bitrix24's code. */
const read = async (response: { readonly status: number; readonly json: () => Promise<unknown> }) => {
  const body = (await response.json()) as { readonly result?: unknown; readonly error?: string }
  if (body.error !== undefined || response.status >= 400) throw new Error(body.error ?? `HTTP ${response.status}`)
  return body.result
}

export const plainFetch = (target: Target, tag?: string): Client => {
  const url = `${target.webhookUrl}${method}.json`
  return {
    send: (index) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params(target, index, tag))
      }).then(read),
    close: async () => undefined
  }
}

/** `node:http` (or `node:https`) with a keep-alive agent: as little as a Node client can do. */
export const keepAlive = (target: Target, options: { readonly caCert?: string } = {}): Client => {
  const url = new URL(`${target.webhookUrl}${method}.json`)
  const secure = url.protocol === "https:"
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 64,
        ...(options.caCert === undefined ? {} : { ca: trusted(options.caCert) })
      })
    : new http.Agent({ keepAlive: true, maxSockets: 64 })
  const request = secure ? https.request : http.request
  const attempt = (body: string, retried: boolean): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
        },
        (response) => {
          const chunks: Array<Buffer> = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on("end", () => {
            const answer = Buffer.concat(chunks).toString()
            read({ status: response.statusCode ?? 0, json: async () => JSON.parse(answer) }).then(resolve, reject)
          })
          response.on("error", reject)
        }
      )
      // Node's documented pattern: a kept-alive socket the server closed meanwhile is retried once.
      outgoing.on("error", (error: NodeJS.ErrnoException) =>
        outgoing.reusedSocket && error.code === "ECONNRESET" && !retried
          ? attempt(body, true).then(resolve, reject)
          : reject(error)
      )
      outgoing.end(body)
    })
  return {
    send: (index) => attempt(JSON.stringify(params(target, index)), false),
    close: async () => agent.destroy()
  }
}

/** Linecast's core: `OpenChannel.send` with its retries, and a rate budget matching the portal's bucket. */
export const core = (
  target: Target,
  options: { readonly bucket?: Bucket; readonly retry?: RetryPolicy.RetryPolicy } = {}
) => {
  const budget = options.bucket === undefined ? RateBudget.layerUnlimited : RateBudget.layer(options.bucket)
  const runtime = ManagedRuntime.make(
    Layer.unwrapEffect(
      Effect.map(PortalAuth.webhook(target.webhookUrl), (auth) =>
        OpenChannel.layer({ auth, retry: options.retry ?? RetryPolicy.defaultPolicy })
      )
    ).pipe(Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, budget, TokenStore.layerMemory())))
  )
  const message = (index: number, tag?: string) => ({
    lineCode: target.lineCode,
    userId: target.users[index % target.users.length]!,
    message: text(index, tag)
  })
  return {
    send: (index: number) =>
      runtime.runPromise(Effect.flatMap(OpenChannel.OpenChannel, (channel) => channel.send(message(index)))),
    /** `sendMany` of the given indexes: how many were accepted. */
    sendMany: (indexes: ReadonlyArray<number>) =>
      runtime.runPromise(
        Effect.flatMap(OpenChannel.OpenChannel, (channel) => channel.sendMany(indexes.map((index) => message(index))))
      ),
    close: () => runtime.dispose()
  }
}

/** The CA bundle plus the emulator's self-signed certificate. */
const trusted = (caCert: string) => [...rootCertificates, readFileSync(caCert, "utf8")]

/**
 * Lets Node's global HTTPS agent (what axios, under the JS SDK, uses) trust the emulator's certificate,
 * as `NODE_EXTRA_CA_CERTS` would for a fresh process.
 */
export const trustEmulator = (caCert: string) => {
  https.globalAgent.options.ca = trusted(caCert)
}

/**
 * Bitrix24's JS SDK (HTTPS only: it rewrites every URL to https). Its own limiter is set to the portal's
 * bucket, or switched off when the portal has none, so that it is measured doing what it would do.
 */
export const b24jssdk = (target: Target, options: { readonly bucket?: Bucket } = {}): Client => {
  const hook = B24Hook.fromWebhookUrl(target.webhookUrl, {
    restrictionParams: {
      rateLimit:
        options.bucket === undefined
          ? { burstLimit: 1_000_000_000, drainRate: 1_000_000_000, adaptiveEnabled: false }
          : { burstLimit: options.bucket.limit, drainRate: options.bucket.drainPerSecond, adaptiveEnabled: true },
      ...(options.bucket === undefined
        ? { adaptiveConfig: { enabled: false, thresholdPercent: 100, coefficient: 0, maxDelay: 0 } }
        : {})
    }
  })
  return {
    send: async (index) => {
      const result = await hook.actions.v2.call.make({ method, params: params(target, index) })
      if (!result.isSuccess) throw new Error(result.getErrorMessages().join("; "))
      return result.getData()
    },
    close: async () => hook.destroy?.()
  }
}

/** `@2bad/bitrix`: GET calls through a queue it fixes at 2 calls a second, whatever the portal allows. */
export const twoBad = (target: Target): Client => {
  const client = Bitrix(target.webhookUrl.replace(/\/$/, ""))
  const call = client.call as unknown as (name: string, values: object) => Promise<unknown>
  return { send: (index) => call(method, params(target, index)), close: async () => undefined }
}
