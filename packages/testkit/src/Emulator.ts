/**
 * The emulator's state and its control API: the portals it serves, the clock they share, and what
 * tests do to them (create, configure, seed, inspect, reset). The HTTP control surface under
 * `/_emulator/` calls exactly these functions.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import type { EmulatorClock } from "./EmulatorClock.js"
import { makeEmulatorClock } from "./EmulatorClock.js"
import type { FaultCounters } from "./Faults.js"
import { eventBody, postEvent } from "./internal/eventDelivery.js"
import type { Installation, OAuthApp, OAuthAppOptions } from "./OAuthApp.js"
import type { InboxMessage, PortalCounters, PortalOptions } from "./Portal.js"
import { Portal } from "./Portal.js"

/**
 * The id of the portal every emulator starts with; it also answers at the root `/rest/` path.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPortalId = "demo"

/**
 * The default demo portal: six users, an admin webhook with the usual scopes, one joined line.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoPortalOptions: PortalOptions = {
  id: defaultPortalId,
  users: [
    { id: 1, name: "Anna", lastName: "Admin", admin: true },
    { id: 2, name: "Boris", lastName: "Sales" },
    { id: 3, name: "Carla", lastName: "Support" },
    { id: 4, name: "Dmitri", lastName: "Manager" },
    { id: 5, name: "Elena", lastName: "Marketing" },
    { id: 6, name: "Farid", lastName: "Finance" }
  ],
  webhooks: [{ userId: 1 }],
  lines: [{ name: "Linecast demo line" }]
}

/**
 * A change to a running portal's settings.
 *
 * @since 0.1.0
 * @category models
 */
export type PortalPatch = Pick<
  PortalOptions,
  | "nfr"
  | "imbotInstalled"
  | "bucket"
  | "operating"
  | "weeklyWindowSeconds"
  | "attachMaxCharacters"
  | "utcOffsetMinutes"
  | "faults"
  | "switches"
>

/**
 * What a test or a script needs to talk to a portal.
 *
 * @since 0.1.0
 * @category models
 */
export interface PortalInfo {
  readonly id: string
  readonly domain: string
  /** The REST base of the portal, ending in `/rest/` (OAuth calls go to `<restUrl><method>`). */
  readonly restUrl: string
  /** Ready incoming-webhook base URLs, each ending in `/`. */
  readonly webhookUrls: ReadonlyArray<string>
  /** Codes of the joined network lines. */
  readonly lineCodes: ReadonlyArray<string>
  readonly users: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export class Emulator {
  readonly clock: EmulatorClock
  private readonly portalsById = new Map<string, Portal>()
  /** Bitrix24 Network's directory of open lines, shared by every portal of this emulator. */
  private readonly network = new Map<string, { readonly name: string }>()
  private readonly apps = new Map<string, OAuthApp>()
  private readonly pendingEvents = new Set<Promise<void>>()
  /** How long a handler may take to answer an event before it counts as failed. */
  eventTimeoutMs = 5_000
  private baseUrl = "http://127.0.0.1"
  private nextPortal = 1

  constructor(options: { readonly clock?: EmulatorClock; readonly portals?: ReadonlyArray<PortalOptions> } = {}) {
    this.clock = options.clock ?? makeEmulatorClock()
    this.createPortal(demoPortalOptions)
    for (const portal of options.portals ?? []) this.createPortal(portal)
  }

  /** Tells the emulator where it listens, so that it can hand out URLs. */
  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/$/, "")
  }

  get url(): string {
    return this.baseUrl
  }

  createPortal(options: PortalOptions = {}): PortalInfo {
    const id = options.id ?? `portal-${this.nextPortal++}`
    if (this.portalsById.has(id)) throw new Error(`A portal with id "${id}" exists already`)
    const portal = new Portal(options, id, {
      network: this.network,
      now: () => this.clock.now(),
      raise: (source, event, recordId, userId) => this.raiseEvent(source, event, recordId, userId)
    })
    this.portalsById.set(portal.id, portal)
    return this.info(portal.id)
  }

  /** The portal with this id (the default portal when omitted); throws for an unknown id. */
  portal(id: string = defaultPortalId): Portal {
    const portal = this.portalsById.get(id)
    if (portal === undefined) throw new Error(`No portal with id "${id}"`)
    return portal
  }

  findPortal(id: string): Portal | undefined {
    return this.portalsById.get(id)
  }

  findPortalByDomain(domain: string): Portal | undefined {
    for (const portal of this.portalsById.values()) if (portal.domain === domain) return portal
    return undefined
  }

  portals(): ReadonlyArray<Portal> {
    return [...this.portalsById.values()]
  }

  info(id: string = defaultPortalId): PortalInfo {
    const portal = this.portal(id)
    const prefix = id === defaultPortalId ? this.baseUrl : `${this.baseUrl}/p/${id}`
    return {
      id: portal.id,
      domain: portal.domain,
      restUrl: `${prefix}/rest/`,
      webhookUrls: [...portal.webhooks.values()].map((webhook) => `${prefix}/rest/${webhook.userId}/${webhook.code}/`),
      lineCodes: [...portal.lines.values()].filter((line) => line.joined && !line.blacklisted).map((line) => line.code),
      users: [...portal.users.keys()]
    }
  }

  /** Registers an application with Bitrix24's OAuth server. */
  createApp(options: typeof OAuthAppOptions.Type = {}): OAuthApp {
    const clientId = options.clientId ?? `local.${randomBytes(7).toString("hex")}.${this.apps.size + 1}`
    if (this.apps.has(clientId)) throw new Error(`An app with client id "${clientId}" exists already`)
    const app: OAuthApp = {
      clientId,
      clientSecret: options.clientSecret ?? randomBytes(24).toString("base64url"),
      scopes: options.scopes ?? ["imopenlines", "crm", "im", "user"],
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
      refreshTokenLifetimeSeconds: options.refreshTokenLifetimeSeconds ?? 180 * 24 * 3600,
      rotateRefreshTokens: options.rotateRefreshTokens ?? true
    }
    this.apps.set(clientId, app)
    return app
  }

  app(clientId: string): OAuthApp | undefined {
    return this.apps.get(clientId)
  }

  /** Installs an app on a portal for a user, as an administrator would. */
  installApp(portalId: string, clientId: string, userId = 1): Installation {
    const app = this.apps.get(clientId)
    if (app === undefined) throw new Error(`No app with client id "${clientId}"`)
    const portal = this.portal(portalId)
    if (!portal.users.has(userId)) throw new Error(`No user ${userId} on portal "${portalId}"`)
    const { applicationToken, access, refresh } = portal.install(app, userId, this.clock.now())
    return {
      clientId,
      portalId,
      userId,
      applicationToken,
      memberId: portal.memberId,
      domain: portal.domain,
      clientEndpoint: this.info(portalId).restUrl,
      accessToken: access.token,
      refreshToken: refresh.token,
      expiresIn: app.accessTokenLifetimeSeconds
    }
  }

  /**
   * Delivers an event to every handler bound to it on the portal: online ones get one POST in the
   * background (never retried), offline ones get it queued. Resolves when every POST has ended.
   */
  raiseEvent(portal: Portal, event: string, id: string, userId: number | undefined): Promise<void> {
    const now = this.clock.now()
    const posts: Array<Promise<void>> = []
    for (const binding of portal.events.bindings.filter((candidate) => candidate.event === event)) {
      const app = this.apps.get(binding.clientId)
      const applicationToken = portal.installations.get(binding.clientId)
      if (app === undefined || applicationToken === undefined) continue
      if (binding.offline) {
        portal.events.store(binding, event, id, userId ?? 0, now)
        portal.counters.eventsStored++
        continue
      }
      const actingUser = binding.authType > 0 ? binding.authType : userId
      const grant = actingUser === undefined ? undefined : portal.grant(app, actingUser, now)
      const body = eventBody({
        event,
        handlerId: binding.id,
        id,
        now,
        auth: {
          domain: portal.domain,
          clientEndpoint: this.info(portal.id).restUrl,
          serverEndpoint: `${this.oauthServerUrl}/rest/`,
          memberId: portal.memberId,
          applicationToken,
          scope: app.scopes.join(","),
          ...(grant === undefined || actingUser === undefined
            ? {}
            : {
                user: {
                  accessToken: grant.access.token,
                  refreshToken: grant.refresh.token,
                  expiresAt: grant.access.expiresAt,
                  expiresIn: app.accessTokenLifetimeSeconds,
                  userId: actingUser
                }
              })
        }
      })
      posts.push(
        postEvent(binding.handler, body, this.eventTimeoutMs).then((delivered) => {
          if (delivered) portal.counters.eventsDelivered++
          else portal.counters.eventsFailed++
        })
      )
    }
    const all = Promise.all(posts).then(() => undefined)
    this.pendingEvents.add(all)
    void all.finally(() => this.pendingEvents.delete(all))
    return all
  }

  /** Resolves when every event POST under way has ended (delivered, refused or timed out). */
  async settleEvents(): Promise<void> {
    while (this.pendingEvents.size > 0) await Promise.all([...this.pendingEvents])
  }

  private get oauthServerUrl(): string {
    return this.baseUrl
  }

  /** Where the OAuth server's token endpoint listens (Bitrix24's is `https://oauth.bitrix.info/oauth/token/`). */
  get oauthTokenUrl(): string {
    return `${this.baseUrl}/oauth/token/`
  }

  configure(id: string, patch: PortalPatch): PortalInfo {
    const portal = this.portal(id)
    if (patch.nfr !== undefined) portal.nfr = patch.nfr
    if (patch.imbotInstalled !== undefined) portal.imbotInstalled = patch.imbotInstalled
    if (patch.weeklyWindowSeconds !== undefined) portal.weeklyWindowSeconds = patch.weeklyWindowSeconds
    if (patch.attachMaxCharacters !== undefined) portal.attachMaxCharacters = patch.attachMaxCharacters
    if (patch.utcOffsetMinutes !== undefined) portal.utcOffsetMinutes = patch.utcOffsetMinutes
    if (patch.bucket !== undefined) portal.bucket.configure(patch.bucket)
    if (patch.operating !== undefined) portal.operating.configure(patch.operating)
    if (patch.faults !== undefined) portal.faults.configure(patch.faults)
    if (patch.switches !== undefined) portal.switches = { ...portal.switches, ...patch.switches }
    return this.info(id)
  }

  /** Messages received on a portal, optionally only one user's, oldest first. */
  inbox(id: string = defaultPortalId, userId?: number): ReadonlyArray<InboxMessage> {
    const inbox = this.portal(id).inbox
    return userId === undefined ? [...inbox] : inbox.filter((message) => message.userId === userId)
  }

  counters(id: string = defaultPortalId): PortalCounters & { readonly faults: FaultCounters } {
    const portal = this.portal(id)
    return structuredClone({ ...portal.counters, faults: portal.faults.counters })
  }

  /** Forgets every portal's messages, ledger, counters and limits, and puts the clock back to real time. */
  reset(): void {
    for (const portal of this.portalsById.values()) portal.reset()
    this.clock.resume()
    this.clock.set(Date.now())
  }
}
