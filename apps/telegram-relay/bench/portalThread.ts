/**
 * The portal emulator in a thread of its own: Bitrix24's servers are not in the relay's process, and the
 * emulator's work (parsing and checking each delivered call) would otherwise be counted on the relay's
 * thread, which the bare bot, talking to no portal, never pays.
 */
import { parentPort, workerData } from "node:worker_threads"
import { startPortalEmulator } from "@linecast/testkit"

export type PortalThreadRequest = { readonly _tag: "Inbox" } | { readonly _tag: "Close" }
export type PortalThreadAnswer =
  | { readonly _tag: "Ready"; readonly webhookUrl: string; readonly lineCode: string }
  | { readonly _tag: "Inbox"; readonly length: number }

const port = parentPort!
const { users } = workerData as { readonly users: number }
const portal = await startPortalEmulator()
// Bitrix24's own bucket (the emulator's default: 50, draining 2 a second); NFR: no weekly rule.
portal.control.configure("demo", { nfr: true })
for (let id = 100; id < 100 + users; id++) portal.control.portal("demo").addUser({ id, name: `User ${id}` })
const say = (answer: PortalThreadAnswer) => port.postMessage(answer)
port.on("message", (request: PortalThreadRequest) => {
  if (request._tag === "Inbox") say({ _tag: "Inbox", length: portal.control.portal("demo").inbox.length })
  else void portal.close().then(() => port.close())
})
say({ _tag: "Ready", webhookUrl: portal.webhookUrl, lineCode: portal.lineCode })
