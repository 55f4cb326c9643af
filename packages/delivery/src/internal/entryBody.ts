/**
 * An entry's stored body: the JSON of its schema's encoding. A new text entry (queued, untouched, a
 * message without attachment or keyboard: most of what adapters store) is written without walking
 * the schema, the same JSON field for field; the schema's walk was the largest part of storing one
 * after SQLite's own work. Anything else, and anything of the wrong type, takes the schema's way.
 */
import { NetworkMessage } from "@linecast/core"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type OutboxEntry, OutboxEntry as OutboxEntrySchema } from "../OutboxEntry.js"

const bySchema = Schema.encodeSync(Schema.parseJson(OutboxEntrySchema))

const policies = new Set<unknown>(["reject", "defer", "digest", "replace"])

/** The fields a new entry has (`notBefore` at most of the optional ones). */
const newFields = new Set([
  "id",
  "idempotencyKey",
  "portal",
  "message",
  "policy",
  "state",
  "notBefore",
  "attempts",
  "generation",
  "createdAt",
  "updatedAt",
  "version"
])

const isNumber = (value: unknown) => typeof value === "number"

/** The schema's encoding of a new text entry, in the schema's order of fields; undefined for any other. */
const newTextEntry = (entry: OutboxEntry) => {
  for (const field of Object.keys(entry)) if (!newFields.has(field)) return undefined
  const message = entry.message
  if (
    entry.state !== "queued" ||
    !policies.has(entry.policy) ||
    typeof entry.id !== "string" ||
    typeof entry.idempotencyKey !== "string" ||
    typeof entry.portal !== "string" ||
    !(entry.notBefore === undefined || isNumber(entry.notBefore)) ||
    !isNumber(entry.attempts) ||
    !isNumber(entry.generation) ||
    !isNumber(entry.createdAt) ||
    !isNumber(entry.updatedAt) ||
    !isNumber(entry.version) ||
    typeof message !== "object" ||
    message === null ||
    "attachment" in message ||
    "keyboard" in message ||
    "urlPreview" in message
  ) {
    return undefined
  }
  const wire = NetworkMessage.toWireEither(message)
  if (Either.isLeft(wire)) return undefined
  return {
    id: entry.id,
    idempotencyKey: entry.idempotencyKey,
    portal: entry.portal,
    message: wire.right,
    policy: entry.policy,
    state: entry.state,
    notBefore: entry.notBefore,
    attempts: entry.attempts,
    generation: entry.generation,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
    version: entry.version
  }
}

/** The body stored for the entry; throws, as the schema's encoding does, for an entry that does not fit it. */
export const encode = (entry: OutboxEntry): string => {
  const encoded = newTextEntry(entry)
  return encoded === undefined ? bySchema(entry) : JSON.stringify(encoded)
}
