/**
 * How a delivery step sends: through the portal's entity, wherever the cluster placed it (this
 * runner or another). A step never talks to a portal directly, so only the portal's holder spends
 * its budget.
 *
 * @since 0.1.0
 */
import type { NetworkMessage } from "@linecast/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { RecordedError } from "./OutboxEntry.js"
import type { PortalStatus } from "./PortalEntity.js"
import { PortalEntity } from "./PortalEntity.js"

/**
 * A send failed; `error` is what the portal's holder recorded (core's tagged error, flattened so it
 * crosses runners).
 *
 * @since 0.1.0
 * @category errors
 */
export class PortalSendError extends Schema.TaggedError<PortalSendError>()("PortalSendError", {
  error: RecordedError
}) {
  override get message() {
    return this.error.message
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PortalSender extends Context.Tag("@linecast/delivery/PortalSender")<
  PortalSender,
  {
    /** Sends one attempt of an entry; `attemptId` is unique per attempt. */
    readonly send: (
      portal: string,
      attemptId: string,
      message: NetworkMessage.NetworkMessage
    ) => Effect.Effect<{ readonly requestId: string }, PortalSendError>
    /** The portal's health, from its holder. */
    readonly status: (portal: string) => Effect.Effect<PortalStatus, PortalSendError>
  }
>() {}

/** The engine could not hand the request to the portal's holder (a full mailbox...): nothing was sent. */
const unreachable = (error: { readonly _tag: string; readonly message: string }) =>
  new PortalSendError({
    error: { tag: error._tag, code: "CLUSTER_UNAVAILABLE", errorClass: "retryable", message: error.message }
  })

/**
 * Sends through the portal entities of the cluster.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(
  PortalSender,
  Effect.map(PortalEntity.client, (client) => ({
    status: (portal) => client(portal).Status().pipe(Effect.mapError(unreachable)),
    send: (portal, attemptId, message) =>
      client(portal)
        .Send({ attemptId, message })
        .pipe(
          Effect.mapError(unreachable),
          Effect.flatMap((outcome) =>
            outcome._tag === "Sent"
              ? Effect.succeed({ requestId: outcome.requestId })
              : Effect.fail(new PortalSendError({ error: outcome.error }))
          )
        )
  }))
)
