/**
 * `/quota <user>`: when that person can next be written to under Bitrix24's weekly rule.
 *
 * @since 0.1.0
 */
import { Composer, Context } from "grammy"
import { answer, targetOf } from "../internal/answer.js"
import { commandArguments } from "../internal/drafts.js"
import { recipient } from "../internal/routing.js"
import { when } from "../internal/when.js"
import { date } from "../Outcome.js"
import { nextAllowedAt } from "../Relay.js"
import type { RelayContext } from "../RelayContext.js"

/**
 * @since 0.1.0
 * @category features
 */
export const quota = new Composer<RelayContext>(
  when(Context.has.command("quota"), async (ctx) => {
    const { target } = commandArguments(ctx.msg!)
    if (target === "") return answer(ctx, "Usage: /quota <user>, for example /quota boris.")
    const to = recipient(ctx.relay.options.routing, target)
    if (to === undefined) return answer(ctx, `I do not know "${target}".`)
    const at = await ctx.relay.run(nextAllowedAt(targetOf(ctx.relay), to.userId)).then(
      (value) => ({ ok: true as const, value }),
      () => ({ ok: false as const })
    )
    if (!at.ok) return answer(ctx, "I cannot read the weekly ledger right now; please try again.")
    return answer(
      ctx,
      at.value === undefined || at.value <= Date.now()
        ? `${to.name} can be written to now.`
        : `${to.name} was already written to this week and can next be written to on ${date(at.value)}.`
    )
  })
)
