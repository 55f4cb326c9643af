/**
 * Scenario 1: sends per second with no limit on the portal, at concurrency 1 and 32. Each client
 * sends the same number of messages in the same run; Linecast's core is reported as a ratio to the
 * plain `fetch` loop and to the `node:http` keep-alive loop. Bitrix24's JS SDK only speaks HTTPS, so
 * it is measured against an HTTPS emulator beside a `node:https` keep-alive loop.
 */
import { b24jssdk, core, keepAlive, plainFetch, twoBad } from "../internal/clients.js"
import { startPortal, target } from "../internal/emulators.js"
import { forWindow, perSecond } from "../internal/load.js"
import { at } from "../internal/outcomes.js"
import type { Figure, Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

const levels = [1, 32] as const

const figureList: Array<Figure> = levels.flatMap((c) => [
  { key: `fetch.c${c}`, label: `plain fetch, c=${c}`, unit: "msg/s" },
  { key: `http.c${c}`, label: `node:http keep-alive, c=${c}`, unit: "msg/s" },
  { key: `core.c${c}`, label: `Linecast core, c=${c}`, unit: "msg/s" },
  { key: `coreVsFetch.c${c}`, label: `core / plain fetch, c=${c}`, unit: "×" },
  { key: `coreVsHttp.c${c}`, label: `core / node:http keep-alive, c=${c}`, unit: "×" },
  { key: `https.c${c}`, label: `node:https keep-alive (HTTPS), c=${c}`, unit: "msg/s" },
  { key: `b24jssdk.c${c}`, label: `@bitrix24/b24jssdk (HTTPS), c=${c}`, unit: "msg/s" },
  { key: `b24jssdkVsHttps.c${c}`, label: `b24jssdk / node:https keep-alive, c=${c}`, unit: "×" },
  ...(c === 1
    ? [
        { key: "twoBad", label: "@2bad/bitrix (any concurrency)", unit: "msg/s" },
        { key: "twoBadVsFetch", label: "@2bad/bitrix / plain fetch, c=1", unit: "×" }
      ]
    : [])
])

export const throughput: Scenario = {
  id: "1",
  title: "Throughput, no limit (core vs fetch, node:http, b24jssdk, @2bad/bitrix)",
  description: ({ quick }) =>
    `Messages per second on a portal with no bucket, ${quick ? "100 (c=1) and 300 (c=32)" : "500 (c=1) and 2,000 (c=32)"} ` +
    "messages per client per run, clients alternating order between runs. Ideal: core equal to plain fetch (1.0×); " +
    "node:http keep-alive is the physical limit of a Node client. @2bad/bitrix queues every call at 2 a second by " +
    `design (whatever the concurrency), so it is measured once, at c=1, over a ${quick ? 1 : 2} s window. The JS SDK only speaks HTTPS, so it runs against an HTTPS ` +
    "emulator and is compared with node:https keep-alive.",
  figures: figureList,
  repetitions: ({ quick }) => (quick ? 1 : 3),
  goals: levels.map((c) => ({ figure: `coreVsFetch.c${c}`, comparison: ">=" as const, target: 0.9, source: "core" })),
  run: async ({ quick, log }) => {
    const portal = await startPortal()
    const secure = await startPortal({ https: true })
    const plain = target(portal)
    const clients = {
      fetch: plainFetch(plain),
      http: keepAlive(plain),
      core: core(plain),
      https: keepAlive(target(secure), secure.caCert === undefined ? {} : { caCert: secure.caCert }),
      b24jssdk: b24jssdk(target(secure))
    }
    const values: Record<string, number> = {}
    try {
      // Warm every client (connections, JIT) before anything is measured.
      for (const client of Object.values(clients)) await perSecond(quick ? 30 : 200, 8, client.send)
      for (const c of levels) {
        const count = c === 1 ? (quick ? 100 : 500) : quick ? 300 : 2_000
        const order = Object.entries(clients)
        if (Math.random() < 0.5) order.reverse()
        for (const [name, client] of order) values[`${name}.c${c}`] = await perSecond(count, c, client.send)
        values[`coreVsFetch.c${c}`] = values[`core.c${c}`]! / values[`fetch.c${c}`]!
        values[`coreVsHttp.c${c}`] = values[`core.c${c}`]! / values[`http.c${c}`]!
        values[`b24jssdkVsHttps.c${c}`] = values[`b24jssdk.c${c}`]! / values[`https.c${c}`]!
        if (c === 1) {
          const seconds = quick ? 1 : 2
          const before = portal.control.counters().accepted
          const accepted = at(seconds * 1000, () => portal.control.counters().accepted - before)
          await forWindow(seconds, 1, twoBad(plain).send)
          values.twoBad = (await accepted) / seconds
          values.twoBadVsFetch = values.twoBad / values[`fetch.c${c}`]!
        }
        log(`c=${c}: core ${values[`core.c${c}`]!.toFixed(0)}/s, fetch ${values[`fetch.c${c}`]!.toFixed(0)}/s`)
      }
    } finally {
      for (const client of Object.values(clients)) await client.close()
      await portal.close()
      await secure.close()
    }
    return figures(values)
  }
}
