/** The REST methods the emulator serves, by lower-case name. */
import type { Method } from "./method.js"
import { networkMessageAdd } from "./networkMessageAdd.js"
import { profile } from "./profile.js"
import { serverTime } from "./serverTime.js"

export const methods: ReadonlyMap<string, Method> = new Map([
  ["imopenlines.network.message.add", networkMessageAdd],
  ["profile", profile],
  ["server.time", serverTime]
])
