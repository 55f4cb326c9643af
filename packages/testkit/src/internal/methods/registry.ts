/** The REST methods the emulator serves, by lower-case name. */
import { batch } from "./batch.js"
import { crmMethods } from "./crm.js"
import { eventMethods } from "./events.js"
import type { Method } from "./method.js"
import { networkJoin } from "./networkJoin.js"
import { networkMessageAdd } from "./networkMessageAdd.js"
import { profile } from "./profile.js"
import { serverTime } from "./serverTime.js"

export const methods: ReadonlyMap<string, Method> = new Map([
  ["batch", batch],
  ["imopenlines.network.join", networkJoin],
  ["imopenlines.network.message.add", networkMessageAdd],
  ["profile", profile],
  ["server.time", serverTime],
  ...crmMethods("deal"),
  ...crmMethods("contact"),
  ...crmMethods("lead"),
  ...eventMethods
])
