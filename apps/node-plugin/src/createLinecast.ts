/**
 * Linecast for code that does not use Effect: `const linecast = await createLinecast({ webhookUrl })`.
 *
 * ```ts
 * const linecast = await createLinecast({ webhookUrl: process.env.BITRIX_WEBHOOK, lineCode: "…32 chars…" })
 * await linecast.enqueue({ userId: 42, message: "[b]Deal won[/b]" }, { idempotencyKey: "deal-17-won" })
 * const { nextAllowedAt } = await linecast.quota(42)
 * await linecast.close()
 * ```
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { type NetworkMessage, OpenChannel, PortalAuth } from "@linecast/core"
import { CrmListener, type Rules } from "@linecast/crm-webhook"
import { DeliveryDatabase, Outbox, type OutboxEntry, type OutboxStore } from "@linecast/delivery"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { fromTagged, LinecastValidationError } from "./LinecastError.js"
import * as LinecastService from "./LinecastService.js"

/**
 * A message as `send` and `enqueue` take it: core's shape, with the line CODE optional when a
 * default is configured.
 *
 * @since 0.1.0
 * @category models
 */
export type MessageInput = Omit<NetworkMessage.NetworkMessage, "lineCode"> & { readonly lineCode?: string | undefined }

/**
 * @since 0.1.0
 * @category models
 */
export interface LinecastOptions {
  /** An incoming webhook: `https://<portal>/rest/<user>/<code>/`. */
  readonly webhookUrl: string
  /** Or an application's OAuth credentials. */
  readonly oauth: {
    readonly restUrl: string
    readonly clientId: string
    readonly clientSecret: string
    readonly accessToken: string
    readonly refreshToken: string
    readonly tokenUrl?: string | undefined
  }
  /** `postgres://…` or a SQLite file. Default `.linecast/linecast.sqlite`. */
  readonly database: string
  /** The open line CODE for messages that name none. */
  readonly lineCode: string
  /** The weekly-rule policy for `enqueue` when none is given. Default `defer`. */
  readonly policy: OutboxEntry.DeliveryPolicy
  /** Rules for the mounted CRM event handler (see `@linecast/crm-webhook`). */
  readonly rules: Rules.RuleSet
  /** The CRM event handler's portal: its domain and application token. */
  readonly events: {
    readonly domain: string
    readonly applicationToken: string
    readonly memberId?: string | undefined
  }
  /** Hosts the credentials may be sent to, besides the portal's own. */
  readonly allowedHosts: ReadonlyArray<string>
  /** Replaces the HTTP transport (tests, proxies). Default: Node's own (undici). */
  readonly fetch: typeof globalThis.fetch
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Linecast {
  /** Sends now, through core, outside the outbox: the receipt or a `LinecastError`. */
  readonly send: (message: MessageInput) => Promise<{ readonly requestId: string; readonly attempts: number }>
  /** Accepts a message durably; the same idempotency key never makes a second message. */
  readonly enqueue: (
    message: MessageInput,
    options: {
      readonly idempotencyKey: string
      readonly policy?: OutboxEntry.DeliveryPolicy | undefined
      readonly notBefore?: Date | undefined
    }
  ) => Promise<{ readonly entry: OutboxEntry.OutboxEntry; readonly created: boolean }>
  /** When the user may next be written to on the line (undefined: now). */
  readonly quota: (userId: number, lineCode?: string) => Promise<{ readonly nextAllowedAt: Date | undefined }>
  readonly outbox: {
    readonly get: (id: string) => Promise<OutboxEntry.OutboxEntry>
    readonly list: (query?: OutboxStore.OutboxQuery) => Promise<ReadonlyArray<OutboxEntry.OutboxEntry>>
    readonly replay: (id: string) => Promise<OutboxEntry.OutboxEntry>
    readonly purge: (query: OutboxStore.OutboxQuery) => Promise<number>
  }
  /** The CRM event handler as a node:http request listener (Express and Fastify adapters build on it). */
  readonly handler: () => Promise<(request: IncomingMessage, response: ServerResponse) => void>
  /** Stops the workers and closes the database; in-flight work resumes at the next start. */
  readonly close: () => Promise<void>
}

const databaseOptions = (database: string | undefined): DeliveryDatabase.DatabaseOptions =>
  database !== undefined && /^postgres(ql)?:\/\//.test(database)
    ? { kind: "postgres", url: Redacted.make(database) }
    : { kind: "sqlite", filename: database ?? DeliveryDatabase.defaultSqliteFile }

/**
 * @since 0.1.0
 * @category constructors
 */
export const createLinecast = async (options: Partial<LinecastOptions>): Promise<Linecast> => {
  const addressOptions = { allowedHosts: options.allowedHosts ?? [] }
  const authentication: Effect.Effect<PortalAuth.PortalAuth, unknown> =
    options.webhookUrl !== undefined
      ? PortalAuth.webhook(Redacted.make(options.webhookUrl), addressOptions)
      : options.oauth !== undefined
        ? PortalAuth.oauth({
            restUrl: options.oauth.restUrl,
            clientId: options.oauth.clientId,
            clientSecret: Redacted.make(options.oauth.clientSecret),
            tokenUrl: options.oauth.tokenUrl,
            initialTokens: {
              accessToken: Redacted.make(options.oauth.accessToken),
              refreshToken: Redacted.make(options.oauth.refreshToken)
            },
            ...addressOptions
          })
        : Effect.fail(new LinecastValidationError("Give webhookUrl or oauth credentials", { code: "NO_CREDENTIALS" }))
  const authExit = await Effect.runPromiseExit(authentication)
  if (Exit.isFailure(authExit)) throw fromTagged(Cause.squash(authExit.cause))
  const auth = authExit.value
  const runtime = ManagedRuntime.make(
    LinecastService.layer({
      auth,
      database: databaseOptions(options.database),
      rules: options.rules,
      fetch: options.fetch
    })
  )
  const run = async <A, E>(
    effect: Effect.Effect<A, E, ManagedRuntime.ManagedRuntime.Context<typeof runtime>>
  ): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw fromTagged(Cause.squash(exit.cause))
  }
  const withLine = (message: MessageInput): NetworkMessage.NetworkMessage => {
    const lineCode = message.lineCode ?? options.lineCode
    if (lineCode === undefined)
      throw new LinecastValidationError("No lineCode: give one in the message or in the options", {
        code: "CODE",
        field: "lineCode"
      })
    return { ...message, lineCode }
  }
  // Fail now on a database that cannot be opened, rather than at the first call.
  await run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.count({ limit: 1 })))

  return {
    send: async (message) => {
      const full = withLine(message)
      const receipt = await run(Effect.flatMap(OpenChannel.OpenChannel, (channel) => channel.send(full)))
      return { requestId: receipt.requestId, attempts: receipt.attempts }
    },
    enqueue: (message, enqueueOptions) =>
      run(
        Effect.flatMap(Outbox.Outbox, (outbox) =>
          outbox.enqueue(withLine(message), {
            idempotencyKey: enqueueOptions.idempotencyKey,
            portal: LinecastService.portalId,
            policy: enqueueOptions.policy ?? options.policy ?? "defer",
            notBefore: enqueueOptions.notBefore?.getTime()
          })
        )
      ),
    quota: async (userId, lineCode) => {
      const line = lineCode ?? options.lineCode
      if (line === undefined)
        throw new LinecastValidationError("No lineCode: give one or configure a default", {
          code: "CODE",
          field: "lineCode"
        })
      const next = await run(
        Effect.flatMap(Outbox.Outbox, (outbox) =>
          outbox.nextAllowedAt({ portal: LinecastService.portalId, lineCode: line, userId })
        )
      )
      return { nextAllowedAt: next === undefined ? undefined : new Date(next) }
    },
    outbox: {
      get: (id) => run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.get(id))),
      list: (query) => run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.list(query))),
      replay: (id) => run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.replay(id))),
      purge: (query) => run(Effect.flatMap(Outbox.Outbox, (outbox) => outbox.purge(query)))
    },
    handler: () => {
      const events = options.events
      if (events === undefined) {
        return Promise.reject(
          new LinecastValidationError("Give events: { domain, applicationToken } to mount the event handler", {
            code: "NO_EVENTS"
          })
        )
      }
      const handler = CrmListener.handler({
        portals: [
          {
            id: LinecastService.portalId,
            domain: events.domain,
            memberId: events.memberId,
            applicationToken: Redacted.make(events.applicationToken)
          }
        ]
      })
      return run(handler)
    },
    close: () => runtime.dispose()
  }
}
