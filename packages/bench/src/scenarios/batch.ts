/**
 * Scenario 4: batch vs single calls under Bitrix24's real bucket (50, 2/s). Core sends single calls
 * 32 at a time, then `sendMany` (50 messages a `batch` call), each for the same window; the figure is
 * messages the portal accepted per second, and their ratio.
 */
import type { RunningPortalEmulator } from "@linecast/testkit"
import type { Bucket } from "../internal/clients.js"
import { core } from "../internal/clients.js"
import { startPortal, target } from "../internal/emulators.js"
import { forWindow } from "../internal/load.js"
import { at } from "../internal/outcomes.js"
import type { Scenario } from "../Scenario.js"
import { figures } from "../Scenario.js"

const bucket: Bucket = { limit: 50, drainPerSecond: 2 }
const windowSeconds = (quick: boolean) => (quick ? 3 : 6)
const calls = (seconds: number) => bucket.limit + bucket.drainPerSecond * seconds

const acceptedIn = async (emulator: RunningPortalEmulator, seconds: number, send: () => Promise<unknown>) => {
  emulator.control.reset()
  const accepted = at(seconds * 1000, () => emulator.control.counters().accepted)
  await send()
  return (await accepted) / seconds
}

export const batch: Scenario = {
  id: "4",
  title: "Batch vs single calls (bucket 50, 2/s)",
  description: ({ quick }) => {
    const seconds = windowSeconds(quick)
    return (
      `Core under the real bucket for ${seconds} s each: single \`send\` calls 32 at a time, then \`sendMany\` ` +
      `(\`batch\`, 50 messages a call). Ideal: ${calls(seconds)} calls in the window, so ${(calls(seconds) / seconds).toFixed(1)} msg/s ` +
      `single and ${((50 * calls(seconds)) / seconds).toFixed(0)} msg/s batched (50×; a short window favours the full bucket's burst).`
    )
  },
  figures: [
    { key: "single", label: "core send (single calls)", unit: "msg/s" },
    { key: "batch", label: "core sendMany (batch of 50)", unit: "msg/s" },
    { key: "ratio", label: "batch / single", unit: "×" }
  ],
  goals: [{ figure: "ratio", comparison: ">=", target: 40, source: "core" }],
  run: async ({ quick, log }) => {
    const seconds = windowSeconds(quick)
    const portal = await startPortal({ bucket })
    try {
      const single = core(target(portal), { bucket })
      const singlePerSecond = await acceptedIn(portal, seconds, () => forWindow(seconds, 32, single.send))
      await single.close()
      const many = core(target(portal), { bucket })
      let next = 0
      const batchedPerSecond = await acceptedIn(portal, seconds, () =>
        forWindow(seconds, 2, () => many.sendMany(Array.from({ length: 50 }, () => next++)))
      )
      await many.close()
      log(`single ${singlePerSecond.toFixed(1)}/s, batch ${batchedPerSecond.toFixed(0)}/s`)
      return figures({ single: singlePerSecond, batch: batchedPerSecond, ratio: batchedPerSecond / singlePerSecond })
    } finally {
      await portal.close()
    }
  }
}
