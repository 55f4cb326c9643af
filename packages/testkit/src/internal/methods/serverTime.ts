/** `server.time`: the portal's current time, as PHP's `date('c')`. */
import { phpDateC } from "../timeInfo.js"
import type { Method } from "./method.js"

export const serverTime: Method = {
  scope: "_global",
  run: ({ portal, now }) => phpDateC(now, portal.utcOffsetMinutes)
}
