/** The benchmark's portal: the portal emulator in a thread of its own (see `portalThread.ts`). */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { PortalThreadAnswer, PortalThreadRequest } from "./portalThread.js"

export interface PortalThread {
  readonly webhookUrl: string
  readonly lineCode: string
  /** How many messages the portal has received so far. */
  readonly inbox: () => Promise<number>
  readonly close: () => Promise<void>
}

/** Starts the emulator in a worker thread (through tsx, as the benchmark runs), with `users` users. */
export const startPortalThread = async (users: number): Promise<PortalThread> => {
  const entry = new URL("./portalThread.ts", import.meta.url).href
  const api = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs")
  const worker = new Worker(
    `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`,
    { eval: true, workerData: { users } }
  )
  const answers: Array<(answer: PortalThreadAnswer) => void> = []
  const ready = new Promise<PortalThreadAnswer>((resolve, reject) => {
    answers.push(resolve)
    worker.once("error", reject)
  })
  worker.on("message", (answer: PortalThreadAnswer) => answers.shift()?.(answer))
  const started = await ready
  if (started._tag !== "Ready") throw new Error("the portal thread did not start")
  const ask = (request: PortalThreadRequest) =>
    new Promise<PortalThreadAnswer>((resolve) => {
      answers.push(resolve)
      worker.postMessage(request)
    })
  return {
    webhookUrl: started.webhookUrl,
    lineCode: started.lineCode,
    inbox: async () => {
      const answer = await ask({ _tag: "Inbox" })
      return answer._tag === "Inbox" ? answer.length : 0
    },
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
      worker.postMessage({ _tag: "Close" } satisfies PortalThreadRequest)
      await exited
    }
  }
}
