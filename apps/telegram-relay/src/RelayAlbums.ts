/**
 * Albums: Telegram sends a media group as one update per photo or document, sharing a
 * `media_group_id`. Each part is kept in `linecast_telegram_album_parts` as it arrives (so nothing
 * is lost on a restart, and a re-delivered part is recognised by its `update_id`), and once a group
 * has been quiet for a moment its parts go out as one message. A flushed part is kept for a day,
 * so that a part delivered again after the flush is not sent a second time.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { Message } from "grammy/types"

/**
 * One album: a media group in a chat.
 *
 * @since 0.1.0
 * @category models
 */
export interface AlbumKey {
  readonly chatId: number
  readonly mediaGroupId: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AlbumPart {
  readonly updateId: number
  readonly message: Message
}

const keepFlushedMs = 24 * 3600 * 1000

/**
 * Creates the table when missing (SQLite and PostgreSQL alike).
 *
 * @since 0.1.0
 * @category constructors
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`CREATE TABLE IF NOT EXISTS linecast_telegram_album_parts (
    update_id BIGINT PRIMARY KEY,
    chat_id BIGINT NOT NULL,
    media_group_id TEXT NOT NULL,
    message_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    flushed_at BIGINT
  )`
).pipe(Effect.asVoid)

/**
 * Keeps a part; answers false when this update was already kept (a re-delivered update).
 *
 * @since 0.1.0
 * @category albums
 */
export const keep = (part: AlbumPart): Effect.Effect<boolean, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ update_id: number | string }>`INSERT INTO linecast_telegram_album_parts
      (update_id, chat_id, media_group_id, message_id, body, received_at)
      VALUES (${part.updateId}, ${part.message.chat.id}, ${part.message.media_group_id ?? ""},
        ${part.message.message_id}, ${JSON.stringify(part.message)}, ${Date.now()})
      ON CONFLICT (update_id) DO NOTHING RETURNING update_id`
  ).pipe(Effect.map((rows) => rows.length === 1))

/**
 * The albums with parts not yet sent (after a restart: the ones to finish).
 *
 * @since 0.1.0
 * @category albums
 */
export const open: Effect.Effect<ReadonlyArray<AlbumKey>, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ chat_id: number | string; media_group_id: string }>`SELECT DISTINCT chat_id, media_group_id
    FROM linecast_telegram_album_parts WHERE flushed_at IS NULL`
).pipe(Effect.map((rows) => rows.map((row) => ({ chatId: Number(row.chat_id), mediaGroupId: row.media_group_id }))))

/**
 * An album's parts not yet sent, in message order.
 *
 * @since 0.1.0
 * @category albums
 */
export const parts = (album: AlbumKey): Effect.Effect<ReadonlyArray<AlbumPart>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ update_id: number | string; body: string }>`SELECT update_id, body
      FROM linecast_telegram_album_parts
      WHERE chat_id = ${album.chatId} AND media_group_id = ${album.mediaGroupId} AND flushed_at IS NULL
      ORDER BY message_id`
  ).pipe(
    Effect.map((rows) =>
      rows.map((row) => ({ updateId: Number(row.update_id), message: JSON.parse(row.body) as Message }))
    )
  )

/**
 * Marks parts as sent, and forgets parts sent more than a day ago.
 *
 * @since 0.1.0
 * @category albums
 */
export const flushed = (updateIds: ReadonlyArray<number>): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = Date.now()
    if (updateIds.length > 0) {
      yield* sql`UPDATE linecast_telegram_album_parts SET flushed_at = ${now} WHERE ${sql.in("update_id", updateIds)}`
    }
    yield* sql`DELETE FROM linecast_telegram_album_parts WHERE flushed_at < ${now - keepFlushedMs}`
  })
