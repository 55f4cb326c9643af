/**
 * Scenario 3: a portal that answers 10 % of requests with a 500 and resets 2 % of connections (seeded,
 * before the method runs). Each client sends the same messages; the figures are the share delivered,
 * the errors that reached the caller and the duplicates in the emulator's inbox. Ideal: 100 %, 0, 0.
 */
import type { RunningPortalEmulator } from "@linecast/testkit"
import type { Client } from "../internal/clients.js"
import { b24jssdk, core, plainFetch, twoBad } from "../internal/clients.js"
import { inboxFigures, startPortal, target } from "../internal/emulators.js"
import { settleAll } from "../internal/load.js"
import type { Figure, Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

const faults = { serverErrorRate: 0.1, resetRate: 0.02 }
const counts = (quick: boolean) => ({ main: quick ? 100 : 500, twoBad: quick ? 4 : 12 })

const clients = ["core", "fetch", "b24jssdk", "twoBad"] as const
const labels: Record<(typeof clients)[number], string> = {
  core: "Linecast core (default retries)",
  fetch: "plain fetch",
  b24jssdk: "@bitrix24/b24jssdk (HTTPS)",
  twoBad: "@2bad/bitrix"
}

const figureList: Array<Figure> = clients.flatMap((client) => [
  { key: `${client}.delivered`, label: `${labels[client]}: delivered`, unit: "%" },
  { key: `${client}.surfaced`, label: `${labels[client]}: errors to caller`, unit: "" },
  { key: `${client}.duplicates`, label: `${labels[client]}: duplicates in inbox`, unit: "" }
])

const measure = async (emulator: RunningPortalEmulator, count: number, client: Client, seed: number) => {
  emulator.control.reset()
  emulator.control.configure("demo", { faults: { seed, ...faults } })
  const outcome = await settleAll(count, 8, client.send)
  await client.close()
  emulator.control.configure("demo", { faults: {} })
  const inbox = inboxFigures(emulator)
  return { delivered: (100 * inbox.unique) / count, surfaced: outcome.failed, duplicates: inbox.duplicates }
}

export const faultsScenario: Scenario = {
  id: "3",
  title: "Faults (10 % HTTP 500, 2 % connection resets)",
  description: ({ quick }) =>
    `${counts(quick).main} messages per client (@2bad/bitrix: ${counts(quick).twoBad}, its queue allows 2 a second), 8 at a time, ` +
    "on a portal answering 10 % of requests with 500 and resetting 2 % of connections, both before the method runs " +
    "(seeded per run, the same for every client). Ideal: 100 % delivered, no error reaching the caller, no duplicate. " +
    "Core retries only what is known not to have executed.",
  figures: figureList,
  repetitions: ({ quick }) => (quick ? 1 : 2),
  goals: [],
  run: async ({ quick, log }) => {
    const seed = Math.floor(Math.random() * 1_000_000)
    const { main, twoBad: few } = counts(quick)
    const portal = await startPortal()
    const secure = await startPortal({ https: true })
    const values: Record<string, number> = {}
    const record = (client: string, outcome: Record<string, number>) => {
      for (const [key, value] of Object.entries(outcome)) values[`${client}.${key}`] = value
      log(`${client}: ${JSON.stringify(outcome)}`)
    }
    try {
      record("core", await measure(portal, main, core(target(portal)), seed))
      record("fetch", await measure(portal, main, plainFetch(target(portal)), seed))
      record("b24jssdk", await measure(secure, main, b24jssdk(target(secure)), seed))
      record("twoBad", await measure(portal, few, twoBad(target(portal)), seed))
    } finally {
      await portal.close()
      await secure.close()
    }
    return figures(values)
  }
}
