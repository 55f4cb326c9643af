/**
 * Core's `TokenStore` in delivery's database: an OAuth portal's tokens rotate at every refresh (the
 * old refresh token stops working), so every runner, and the next holder of the portal, must read the
 * newest pair. A write never replaces a newer pair than its own: a runner that refreshed late cannot
 * bring back tokens the portal already retired. The tokens are kept as the portal issued them: the
 * database is as secret as the credentials in the configuration.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { TokenStore } from "@linecast/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createTables } from "./internal/tables.js"
import type { OutboxStorageError } from "./OutboxStore.js"

type Tokens = TokenStore.OAuthTokens

/** Names the migration lock in PostgreSQL. */
const migrationLock = 7_245_109_334

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  initial: Readonly<Record<string, Tokens>> = {}
): Effect.Effect<TokenStore.TokenStore.Service, OutboxStorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* createTables(migrationLock, [
      `CREATE TABLE IF NOT EXISTS linecast_oauth_tokens (
        portal TEXT PRIMARY KEY,
        access_token TEXT NOT NULL,
        refresh_token TEXT NOT NULL,
        expires_at BIGINT,
        renewed_at BIGINT NOT NULL
      )`
    ])

    // What this process knows, for when the database cannot answer.
    const known = new Map(Object.entries(initial))

    const write = (portal: string, tokens: Tokens, renewedAt: number) =>
      sql`INSERT INTO linecast_oauth_tokens (portal, access_token, refresh_token, expires_at, renewed_at)
        VALUES (${portal}, ${Redacted.value(tokens.accessToken)}, ${Redacted.value(tokens.refreshToken)},
          ${tokens.expiresAt ?? null}, ${renewedAt})
        ON CONFLICT (portal) DO UPDATE SET access_token = excluded.access_token,
          refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at
        WHERE linecast_oauth_tokens.renewed_at < excluded.renewed_at`

    // The configured tokens count as the oldest: they never replace tokens a runner renewed.
    for (const [portal, tokens] of known) {
      yield* write(portal, tokens, 0).pipe(Effect.ignoreLogged)
    }

    return {
      get: (portal) =>
        sql<{
          access_token: string
          refresh_token: string
          expires_at: number | string | null
        }>`SELECT access_token, refresh_token, expires_at FROM linecast_oauth_tokens WHERE portal = ${portal}`.pipe(
          Effect.map((rows): Tokens | undefined => {
            const row = rows[0]
            if (row === undefined) return known.get(portal)
            return {
              accessToken: Redacted.make(row.access_token),
              refreshToken: Redacted.make(row.refresh_token),
              expiresAt: row.expires_at === null ? undefined : Number(row.expires_at)
            }
          }),
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logWarning("token store unreadable; using this process's tokens", error.message),
              known.get(portal)
            )
          )
        ),
      set: (portal, tokens) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          known.set(portal, tokens)
          return write(portal, tokens, now).pipe(
            Effect.asVoid,
            Effect.catchAll((error) => Effect.logWarning("renewed tokens not stored", error.message))
          )
        })
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  initial: Readonly<Record<string, Tokens>> = {}
): Layer.Layer<TokenStore.TokenStore, OutboxStorageError, SqlClient.SqlClient> =>
  Layer.effect(TokenStore.TokenStore, make(initial))
