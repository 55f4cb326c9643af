/**
 * Errors of the outbox API that are not Bitrix24's.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { DeliveryState } from "./OutboxEntry.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class EntryNotFoundError extends Schema.TaggedError<EntryNotFoundError>()("EntryNotFoundError", {
  id: Schema.String
}) {
  override get message() {
    return `No outbox entry with id "${this.id}"`
  }
}

/**
 * Only dead and ambiguous entries can be replayed.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotReplayableError extends Schema.TaggedError<NotReplayableError>()("NotReplayableError", {
  id: Schema.String,
  state: Schema.String
}) {
  static readonly replayable: ReadonlyArray<DeliveryState> = ["dead", "ambiguous"]
  override get message() {
    return `Entry "${this.id}" is ${this.state}: only dead or ambiguous entries can be replayed`
  }
}

/**
 * The database failed or answered what the outbox cannot read: nothing accepted is lost, the
 * operation can be tried again.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutboxStorageError extends Schema.TaggedError<OutboxStorageError>()("OutboxStorageError", {
  operation: Schema.String,
  message: Schema.String
}) {}
