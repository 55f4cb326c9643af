/** The portal emulators a scenario talks to: plain HTTP for most clients, HTTPS for the JS SDK. */
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import type { Bucket, Target } from "./clients.js"
import { trustEmulator } from "./clients.js"

/** No bucket worth the name: the limit is not what is measured. */
export const unlimited: Bucket = { limit: 1_000_000_000, drainPerSecond: 1_000_000 }

/** Recipients beyond the demo portal's six, so that no client is held back by one recipient at a time. */
const recipients = 300

export const target = (emulator: RunningPortalEmulator): Target => ({
  webhookUrl: emulator.webhookUrl,
  lineCode: emulator.lineCode,
  users: emulator.control.info().users
})

/**
 * Starts a partner (NFR) portal emulator, so that the weekly rule stays out of the figures, with the
 * given bucket; with `https`, the process trusts its certificate.
 */
export const startPortal = async (
  options: { readonly https?: boolean; readonly bucket?: Bucket } = {}
): Promise<RunningPortalEmulator> => {
  const emulator = await startPortalEmulator({ https: options.https ?? false })
  if (emulator.caCert !== undefined) trustEmulator(emulator.caCert)
  emulator.control.configure("demo", { nfr: true, bucket: options.bucket ?? unlimited })
  for (let id = 100; id < 100 + recipients; id++) emulator.control.portal("demo").addUser({ id, name: `User ${id}` })
  return emulator
}

/** How many messages arrived, and how many of them more than once. */
export const inboxFigures = (emulator: RunningPortalEmulator, tag = "bench") => {
  const texts = emulator.control
    .inbox("demo")
    .map((message) => message.message)
    .filter((message) => message.startsWith(`${tag} `))
  const unique = new Set(texts).size
  return { received: texts.length, unique, duplicates: texts.length - unique }
}
