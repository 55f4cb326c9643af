/**
 * One emulated Bitrix24 portal: its users, incoming webhooks, OAuth tokens, browser sessions,
 * network open lines, the weekly ledger of `imopenlines.network.message.add`, every user's inbox,
 * its limits and its counters. Options are a Schema so that the TypeScript control API and the
 * HTTP control API validate them the same way.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import * as Schema from "effect/Schema"
import { CrmStore } from "./Crm.js"
import { FaultOptions, Faults } from "./Faults.js"
import type { LeakyBucket } from "./LeakyBucket.js"
import { makeLeakyBucket } from "./LeakyBucket.js"
import type { OAuthApp, RefreshToken } from "./OAuthApp.js"
import type { OperatingTime } from "./OperatingTime.js"
import { makeOperatingTime } from "./OperatingTime.js"
import { PortalEvents } from "./PortalEvents.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const UserOptions = Schema.Struct({
  id: Schema.Int.pipe(Schema.positive()),
  name: Schema.optional(Schema.String),
  lastName: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  admin: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const WebhookOptions = Schema.Struct({
  userId: Schema.Int.pipe(Schema.positive()),
  /** The secret code; generated when missing. */
  code: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_]{1,64}$/))),
  /** Scopes of the webhook (`imopenlines`, `crm`, ...); `imopenlines` and `crm` when missing. */
  scopes: Schema.optional(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const LineOptions = Schema.Struct({
  /** The network line CODE; 32 characters, generated when missing. */
  code: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  /** Whether the line was joined on this portal (only joined lines can send). Default true. */
  joined: Schema.optional(Schema.Boolean),
  /** A blacklisted (FDC) code answers `NOT_FOUND` even when joined. */
  blacklisted: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const BucketOptions = Schema.Struct({
  limit: Schema.Number.pipe(Schema.positive()),
  drainPerSecond: Schema.Number.pipe(Schema.positive())
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const OperatingOptions = Schema.Struct({
  limitSeconds: Schema.Number.pipe(Schema.positive()),
  windowSeconds: Schema.Number.pipe(Schema.positive()),
  costSeconds: Schema.Number.pipe(Schema.nonNegative()),
  costByMethod: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number.pipe(Schema.nonNegative()) }))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const PortalOptions = Schema.Struct({
  /** The portal's id, used in its path prefix `/p/<id>/`. */
  id: Schema.optional(Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9-]{0,62}$/))),
  /** The portal's domain (reported in events and OAuth answers; requests with this Host reach it). */
  domain: Schema.optional(Schema.String),
  /** Partner (NFR) licence: lifts the weekly rule. */
  nfr: Schema.optional(Schema.Boolean),
  /** The `imbot` module; without it the method answers `IMBOT_ERROR`. */
  imbotInstalled: Schema.optional(Schema.Boolean),
  /** The portal's UTC offset in minutes, for `date_start`/`date_finish`. Default +180 (Moscow). */
  utcOffsetMinutes: Schema.optional(Schema.Int),
  bucket: Schema.optional(BucketOptions),
  operating: Schema.optional(OperatingOptions),
  /** The weekly rule's window in seconds (7 × 24 h). */
  weeklyWindowSeconds: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** The attachment limit in characters of normalised JSON (the server refuses at 60,000). */
  attachMaxCharacters: Schema.optional(Schema.Int.pipe(Schema.positive())),
  faults: Schema.optional(FaultOptions),
  /** Switches for the portal-wide system errors. */
  switches: Schema.optional(
    Schema.partial(
      Schema.Struct({
        /** `PORTAL_DELETED` (403) for every call: the portal was deleted or its public part closed. */
        deleted: Schema.Boolean,
        /** `OVERLOAD_LIMIT` (401): REST blocked by hand for overload. */
        overloaded: Schema.Boolean,
        /** `ACCESS_DENIED` (401): REST is not available on the portal's plan. */
        restUnavailable: Schema.Boolean,
        /** `INVALID_REQUEST` (401) for webhook calls over plain HTTP. */
        httpsRequired: Schema.Boolean,
        /** `user_access_error` (401) for application calls: the app is restricted to other users. */
        userAccessDenied: Schema.Boolean
      })
    )
  ),
  users: Schema.optional(Schema.Array(UserOptions)),
  webhooks: Schema.optional(Schema.Array(WebhookOptions)),
  lines: Schema.optional(Schema.Array(LineOptions))
})

/**
 * @since 0.1.0
 * @category models
 */
export type PortalOptions = typeof PortalOptions.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly id: number
  readonly name: string
  readonly lastName: string
  readonly email: string
  readonly admin: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Webhook {
  readonly id: number
  readonly userId: number
  readonly code: string
  readonly scopes: ReadonlyArray<string>
}

/**
 * An OAuth access token issued to an application on this portal.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccessToken {
  readonly token: string
  readonly clientId: string
  readonly userId: number
  readonly scopes: ReadonlyArray<string>
  /** Unix ms after which the token answers `expired_token`. */
  readonly expiresAt: number
}

/**
 * A logged-in browser session: the cookie and the `sessid` a browser sends with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly cookie: string
  readonly sessid: string
  readonly userId: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NetworkLine {
  readonly code: string
  readonly name: string
  /** The network bot that sends for this line (the weekly rule is keyed on it). */
  readonly botId: number
  joined: boolean
  blacklisted: boolean
}

/**
 * A message as the recipient received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface InboxMessage {
  readonly id: number
  readonly portalId: string
  readonly lineCode: string
  readonly botId: number
  readonly userId: number
  /** The text as stored: trimmed, BB codes as sent. */
  readonly message: string
  /** The attachment after the server's normalisation, or null. */
  readonly attach: unknown
  /** The kept keyboard buttons (and row breaks), or null. */
  readonly keyboard: unknown
  readonly urlPreview: boolean
  /** Unix ms on the emulator's clock. */
  readonly receivedAt: number
  readonly authType: "webhook" | "oauth"
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PortalCounters {
  /** Every request that reached the portal, refused by the bucket or not. */
  requests: number
  /** Messages accepted by `imopenlines.network.message.add`. */
  accepted: number
  /** Error answers by `error` code (method and system errors, bucket refusals included). */
  rejected: Record<string, number>
  /** Requests refused by the leaky bucket. */
  bucketRejections: number
  /** Calls by method name. */
  calls: Record<string, number>
  /** Events POSTed to online handlers and answered with a 2xx. */
  eventsDelivered: number
  /** Events whose POST failed, timed out or was answered otherwise (never retried). */
  eventsFailed: number
  /** Events queued for offline handlers. */
  eventsStored: number
}

/**
 * What a portal shares with the emulator around it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PortalEnvironment {
  /** Bitrix24 Network's directory of open lines: a line one portal publishes, others can join. */
  readonly network?: Map<string, { readonly name: string }>
  /** The emulator's clock. */
  readonly now?: () => number
  /** Delivers an event the portal raised (a CRM change) to its bound handlers. */
  readonly raise?: (portal: Portal, event: string, id: string, userId: number | undefined) => void
}

const randomCode = (length: number) => randomBytes(length).toString("hex").slice(0, length)

/**
 * The portal's live state. Mutated only by the emulator's request handling and control API.
 *
 * @since 0.1.0
 * @category models
 */
export class Portal {
  readonly id: string
  readonly domain: string
  readonly memberId: string
  nfr: boolean
  imbotInstalled: boolean
  utcOffsetMinutes: number
  weeklyWindowSeconds: number
  attachMaxCharacters: number
  readonly bucket: LeakyBucket
  readonly operating: OperatingTime
  readonly faults = new Faults()
  switches: NonNullable<PortalOptions["switches"]>
  readonly users = new Map<number, User>()
  readonly webhooks = new Map<string, Webhook>()
  readonly tokens = new Map<string, AccessToken>()
  readonly refreshTokens = new Map<string, RefreshToken>()
  /** Installed applications' `application_token`, by client id. */
  readonly installations = new Map<string, string>()
  readonly sessions = new Map<string, Session>()
  readonly lines = new Map<string, NetworkLine>()
  /** Last accepted send by `<botId>:<userId>` (Unix ms). */
  readonly ledger = new Map<string, number>()
  readonly inbox: Array<InboxMessage> = []
  counters: PortalCounters = Portal.emptyCounters()
  private nextWebhookId = 1
  private nextBotId = 100
  private nextMessageId = 1

  readonly network: Map<string, { readonly name: string }>
  readonly crm: CrmStore
  readonly events = new PortalEvents()

  constructor(options: PortalOptions, fallbackId: string, environment: PortalEnvironment = {}) {
    this.network = environment.network ?? new Map()
    const now = environment.now ?? Date.now
    this.crm = new CrmStore(now, (event, id, userId) => environment.raise?.(this, event, id, userId))
    this.id = options.id ?? fallbackId
    this.domain = options.domain ?? `${this.id}.bitrix24.test`
    this.memberId = randomCode(32)
    this.nfr = options.nfr ?? false
    this.imbotInstalled = options.imbotInstalled ?? true
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 180
    this.weeklyWindowSeconds = options.weeklyWindowSeconds ?? 7 * 24 * 3600
    this.attachMaxCharacters = options.attachMaxCharacters ?? 60_000
    this.bucket = makeLeakyBucket(options.bucket ?? { limit: 50, drainPerSecond: 2 })
    // The server's LoadLimiter: 420 s per 10 minutes (the docs say 480); no cost simulated by default.
    this.operating = makeOperatingTime(options.operating ?? { limitSeconds: 420, windowSeconds: 600, costSeconds: 0 })
    this.switches = options.switches ?? {}
    if (options.faults !== undefined) this.faults.configure(options.faults)
    for (const user of options.users ?? []) this.addUser(user)
    for (const webhook of options.webhooks ?? []) this.addWebhook(webhook)
    for (const line of options.lines ?? []) this.addLine(line)
  }

  static emptyCounters(): PortalCounters {
    return {
      requests: 0,
      accepted: 0,
      rejected: {},
      bucketRejections: 0,
      calls: {},
      eventsDelivered: 0,
      eventsFailed: 0,
      eventsStored: 0
    }
  }

  addUser(options: typeof UserOptions.Type): User {
    const user: User = {
      id: options.id,
      name: options.name ?? `User${options.id}`,
      lastName: options.lastName ?? "",
      email: options.email ?? `user${options.id}@${this.domain}`,
      admin: options.admin ?? options.id === 1
    }
    this.users.set(user.id, user)
    return user
  }

  addWebhook(options: typeof WebhookOptions.Type): Webhook {
    const webhook: Webhook = {
      id: this.nextWebhookId++,
      userId: options.userId,
      code: options.code ?? randomCode(16),
      scopes: options.scopes ?? ["imopenlines", "crm", "im", "user"]
    }
    this.webhooks.set(webhook.code, webhook)
    return webhook
  }

  addLine(options: typeof LineOptions.Type): NetworkLine {
    const line: NetworkLine = {
      code: options.code ?? randomCode(32),
      name: options.name ?? "Linecast demo line",
      botId: this.nextBotId++,
      joined: options.joined ?? true,
      blacklisted: options.blacklisted ?? false
    }
    this.lines.set(line.code, line)
    this.network.set(line.code, { name: line.name })
    return line
  }

  /**
   * `Network::join`: the line's bot id, registering the bot on first join; undefined for a code
   * Bitrix24 Network does not know.
   */
  joinLine(code: string): NetworkLine | undefined {
    const known = this.lines.get(code)
    if (known !== undefined) {
      known.joined = true
      return known
    }
    const published = this.network.get(code)
    return published === undefined ? undefined : this.addLine({ code, name: published.name, joined: true })
  }

  issueToken(
    options: {
      readonly clientId?: string | undefined
      readonly userId: number
      readonly scopes?: ReadonlyArray<string> | undefined
      readonly lifetimeSeconds?: number | undefined
    },
    now: number
  ): AccessToken {
    const token: AccessToken = {
      token: randomCode(64),
      clientId: options.clientId ?? "local.linecast.emulator",
      userId: options.userId,
      scopes: options.scopes ?? ["imopenlines", "crm", "im", "user"],
      expiresAt: now + (options.lifetimeSeconds ?? 3600) * 1000
    }
    this.tokens.set(token.token, token)
    return token
  }

  /** Installs an app for a user: the installation's application token, and a first token pair. */
  install(app: OAuthApp, userId: number, now: number) {
    const applicationToken = this.installations.get(app.clientId) ?? randomCode(32)
    this.installations.set(app.clientId, applicationToken)
    return { applicationToken, ...this.grant(app, userId, now) }
  }

  /** A new access token and refresh token for an installed app. */
  grant(app: OAuthApp, userId: number, now: number) {
    const access = this.issueToken(
      { clientId: app.clientId, userId, scopes: app.scopes, lifetimeSeconds: app.accessTokenLifetimeSeconds },
      now
    )
    const refresh: RefreshToken = {
      token: randomCode(64),
      clientId: app.clientId,
      portalId: this.id,
      userId,
      expiresAt: now + app.refreshTokenLifetimeSeconds * 1000
    }
    this.refreshTokens.set(refresh.token, refresh)
    return { access, refresh }
  }

  openSession(userId: number): Session {
    const session: Session = { cookie: `PHPSESSID=${randomCode(26)}`, sessid: randomCode(32), userId }
    this.sessions.set(session.sessid, session)
    return session
  }

  deliver(message: Omit<InboxMessage, "id" | "portalId">): InboxMessage {
    const stored: InboxMessage = { ...message, id: this.nextMessageId++, portalId: this.id }
    this.inbox.push(stored)
    return stored
  }

  countRejection(code: string): void {
    this.counters.rejected[code] = (this.counters.rejected[code] ?? 0) + 1
  }

  /** Forgets messages, the ledger, counters and limits' state; keeps users, webhooks and lines. */
  reset(): void {
    this.inbox.length = 0
    this.ledger.clear()
    this.counters = Portal.emptyCounters()
    this.bucket.reset()
    this.operating.reset()
    this.faults.reset()
    this.events.reset()
  }
}
