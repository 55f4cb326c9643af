/**
 * Where OAuth tokens live, so that they can be persisted and shared: the refresh token rotates on
 * every renewal, and the old one must be replaced everywhere. In memory by default.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"

/**
 * @since 0.1.0
 * @category models
 */
export interface OAuthTokens {
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
  /** Unix ms when the access token expires, when known. */
  readonly expiresAt?: number | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("@linecast/core/TokenStore")<TokenStore, TokenStore.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The tokens of a portal (keyed by its host), if any. */
    readonly get: (portal: string) => Effect.Effect<OAuthTokens | undefined>
    readonly set: (portal: string, tokens: OAuthTokens) => Effect.Effect<void>
  }
}

/**
 * An in-memory store, optionally seeded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (initial: Readonly<Record<string, OAuthTokens>> = {}): Effect.Effect<TokenStore.Service> =>
  Effect.map(Ref.make(new Map(Object.entries(initial))), (ref) => ({
    get: (portal) => Effect.map(Ref.get(ref), (tokens) => tokens.get(portal)),
    set: (portal, tokens) => Ref.update(ref, (current) => new Map(current).set(portal, tokens))
  }))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (initial: Readonly<Record<string, OAuthTokens>> = {}): Layer.Layer<TokenStore> =>
  Layer.effect(TokenStore, makeMemory(initial))
