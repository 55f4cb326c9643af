/**
 * The console in a real browser (Debian's headless Chromium driven by playwright-core) against
 * `linecast serve` as a real process: in demo mode, and outside it with a credential.
 */
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "@linecast/testkit"
import { startPortalEmulator } from "@linecast/testkit"
import { type Browser, chromium, type Page } from "playwright-core"
import { type Served, serve } from "./serve.js"

const screenshots = fileURLToPath(new URL("../screenshots/", import.meta.url))
const wait = { timeout: 20_000 }

let browser: Browser
let demo: Served
let page: Page
let consoleUrl: string
let control: string

const shoot = (name: string) => page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true })

const emulator = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${control}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  expect(response.ok).toBe(true)
  return response.json() as Promise<any>
}

const open = async (view: string) => {
  await page.goto(`${consoleUrl}#/${view}`)
  await page.locator(`[data-testid=tab-${view}][aria-current=page]`).waitFor(wait)
}

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true })
  const [launched, served] = await Promise.all([
    chromium.launch({ executablePath: "/usr/bin/chromium", headless: true }),
    serve({})
  ])
  browser = launched
  demo = served
  consoleUrl = demo.printed.console!
  control = `${demo.printed.portal}/_emulator`
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  demo?.stop()
})

describe("the console in demo mode", () => {
  it("shows a CRM event's message as sent, with its history, and rendered in the emulated inbox", async () => {
    expect(demo.printed.mode).toBe("demo")
    await emulator("POST", "/portals/demo/crm/deal", {
      fields: { TITLE: "First order", OPPORTUNITY: 1200, ASSIGNED_BY_ID: 2 },
      userId: 1
    })
    await open("outbox")
    const row = page.locator("tr[data-testid=message-row]", { hasText: "First order" })
    await row.locator("[data-testid=state]:text-is('sent')").waitFor(wait)
    await page.locator("[data-testid=count-sent]:text-is('1')").waitFor(wait)
    await shoot("outbox")

    await row.locator("a").click()
    await page.locator("[data-testid=history] [data-testid=state]:text-is('sent')").waitFor(wait)
    await page.locator("[data-testid=validation]", { hasText: "Valid" }).waitFor(wait)
    await shoot("message")

    await page.locator("[data-testid=tab-inbox]").click()
    const received = page.locator("[data-testid=inbox-message][data-user='2']")
    await received.locator(".chat-text strong:text-is('First order')").waitFor(wait)
    expect(await received.locator(".keyboard a").getAttribute("href")).toBe(
      "https://demo.bitrix24.test/crm/deal/details/1/"
    )
    await shoot("inbox")
  })

  it("replays a dead letter from the page, which then shows as sent", async () => {
    const portal = await emulator("GET", "/portals/demo")
    const lineCode: string = portal.lineCodes[0]
    expect(lineCode).toHaveLength(32)
    await emulator("PATCH", `/portals/demo/lines/${lineCode}`, { joined: false })
    try {
      await emulator("POST", "/portals/demo/crm/lead", { fields: { TITLE: "Lost lead" }, userId: 1 })
      await open("dead")
      const row = page.locator("tr[data-testid=dead-row]", { hasText: "Lost lead" })
      await row.waitFor(wait)
      expect(await row.locator("[data-testid=reason]").textContent()).toMatch(/not joined on this portal/)
      await shoot("dead-letters")
    } finally {
      await emulator("PATCH", `/portals/demo/lines/${lineCode}`, { joined: true })
    }
    await page.locator("tr[data-testid=dead-row]", { hasText: "Lost lead" }).locator("[data-testid=replay]").click()
    await page.locator("[data-testid=notice]", { hasText: "Replayed" }).waitFor(wait)
    await page.locator("[data-testid=no-dead-letters]").waitFor(wait)
    await open("outbox")
    await page
      .locator("tr[data-testid=message-row]", { hasText: "Lost lead" })
      .locator("[data-testid=state]:text-is('sent')")
      .waitFor(wait)
  })

  it("shows the next allowed time for a recipient after a send", async () => {
    await open("quota")
    await page.locator("#quota-user").selectOption("2")
    await page.locator("[data-testid=quota-show]").click()
    const next = page.locator("[data-testid=next-allowed]")
    await next.waitFor(wait)
    expect(await next.textContent()).toMatch(/\(in (6 d|7 d)/)
    expect(await page.locator("[data-testid=last-sent]").textContent()).not.toContain("none")
    await shoot("quota")
  })

  it("shows portal health without inventing figures, and previews a typed-in message", async () => {
    await open("portals")
    const row = page.locator("[data-testid=portal-row]")
    await row.waitFor(wait)
    expect(await row.textContent()).toContain("webhook")
    expect(await row.textContent()).toContain("not measured")
    await shoot("portals")

    await open("preview")
    await page.locator("[data-testid=preview-show]").click()
    await page.locator("[data-testid=validation]", { hasText: "Valid" }).waitFor(wait)
    await page.locator("[data-testid=chat-preview] .attach-grid").waitFor(wait)
    expect(await page.locator("[data-testid=chat-preview] .chat-text strong").first().textContent()).toBe("First order")
    await shoot("preview")
  })
})

describe("bad input in the page", () => {
  it("shows a clear message for a bad filter and an unknown id", async () => {
    await open("outbox")
    await page.locator("input[name=user]").fill("abc")
    await page.locator("form.filters button[type=submit]").click()
    await page.locator("[data-testid=problem]", { hasText: '"user" must be a whole number' }).waitFor(wait)
    await page.goto(`${consoleUrl}#/outbox/no-such-id`)
    await page.locator("[data-testid=problem]", { hasText: 'No message with id "no-such-id"' }).waitFor(wait)
  })
})

describe("the console outside demo mode", () => {
  let portal: RunningPortalEmulator
  let protectedServe: Served
  const token = "e2e-console-token-5b1d"

  beforeAll(async () => {
    portal = await startPortalEmulator()
    protectedServe = await serve({
      LINECAST_WEBHOOK_URL: portal.webhookUrl,
      LINECAST_LINE_CODE: portal.lineCode,
      LINECAST_CONSOLE: "1",
      LINECAST_CONSOLE_TOKEN: token
    })
  }, 60_000)
  afterAll(async () => {
    protectedServe?.stop()
    await portal?.close()
  })

  it("answers 401 without the credential, and opens with it", async () => {
    const url = protectedServe.printed.console!
    expect(protectedServe.printed.mode).toBe("portal")
    const anonymous = await (await browser.newContext()).newPage()
    // The browser answers the basic-auth challenge by giving up (headless has no dialog): the
    // server's answer is what counts.
    const statuses: Array<number> = []
    anonymous.on("response", (response) => statuses.push(response.status()))
    await anonymous.goto(url).catch(() => undefined)
    expect(statuses).toEqual([401])
    await anonymous.context().close()

    const operator = await browser.newContext({ httpCredentials: { username: "operator", password: token } })
    const signedIn = await operator.newPage()
    expect((await signedIn.goto(`${url}#/outbox`))?.status()).toBe(200)
    await signedIn.locator("[data-testid=outbox]").waitFor(wait)
    expect(await signedIn.locator("[data-testid=tab-inbox]").count()).toBe(0)
    const html = await signedIn.content()
    expect(html).not.toContain(token)
    expect(html).not.toContain(new URL(portal.webhookUrl).pathname.split("/")[3]!)
    await operator.close()
  })
})
