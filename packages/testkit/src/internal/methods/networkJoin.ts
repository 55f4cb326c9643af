/**
 * `imopenlines.network.join`, as `Rest::networkJoin` does it: the CODE check, the imbot module,
 * the blacklist, then `Network::join`, which answers the line's bot id (registering the bot the
 * first time). An unknown code gets `NOT_FOUND`: the network controller's own answer is not in
 * the stored server code.
 */
import { stringOf, upperKeys } from "../php.js"
import { RestError } from "../restError.js"
import type { Method } from "./method.js"

const wrong = (code: string, description: string) => new RestError(code, description, 400)

export const networkJoin: Method = {
  scope: "imopenlines",
  run: ({ portal, params: raw }) => {
    const params = upperKeys(raw)
    const code = params.CODE
    if (code === undefined || code === null || [...stringOf(code)].length !== 32) {
      throw wrong("CODE", "You entered an invalid code")
    }
    if (!portal.imbotInstalled) throw wrong("IMBOT_ERROR", "Module IMBOT is not installed")
    if (portal.lines.get(stringOf(code))?.blacklisted === true) throw wrong("NOT_FOUND", "Line not found")
    const line = portal.joinLine(stringOf(code))
    if (line === undefined) throw wrong("NOT_FOUND", "Line not found")
    return line.botId
  }
}
