import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { RunningPortalEmulator } from "../src/index.js"
import { startPortalEmulator } from "../src/index.js"
import { call } from "./call.js"

let emulator: RunningPortalEmulator

beforeAll(async () => {
  emulator = await startPortalEmulator()
})
afterAll(() => emulator.close())

describe("the OAuth server", () => {
  it("installs an app, expires its access token, refreshes with rotation, and the new token works", async () => {
    const { control } = emulator
    control.clock.freeze()
    const app = control.createApp({ accessTokenLifetimeSeconds: 60 })
    const installation = control.installApp("demo", app.clientId, 2)
    expect(installation.applicationToken).toHaveLength(32)
    const profile = `${installation.clientEndpoint}profile`
    expect((await call(profile, { auth: installation.accessToken })).body.result.ID).toBe("2")

    control.clock.advance(60_000)
    expect((await call(profile, { auth: installation.accessToken })).body.error).toBe("expired_token")

    const refresh = (refreshToken: string, overrides: Record<string, string> = {}) =>
      call(
        control.oauthTokenUrl,
        {
          grant_type: "refresh_token",
          client_id: app.clientId,
          client_secret: app.clientSecret,
          refresh_token: refreshToken,
          ...overrides
        },
        { encoding: "query" }
      )
    const renewed = await refresh(installation.refreshToken)
    expect(renewed.status).toBe(200)
    expect(renewed.body).toMatchObject({
      expires_in: 60,
      domain: "oauth.bitrix.info",
      client_endpoint: installation.clientEndpoint,
      member_id: installation.memberId,
      user_id: 2,
      status: "L"
    })
    expect(renewed.body.expires).toBe(Math.floor(control.clock.now() / 1000) + 60)
    expect(renewed.body.refresh_token).not.toBe(installation.refreshToken)
    expect((await call(profile, { auth: renewed.body.access_token })).body.result.ID).toBe("2")

    // The old refresh token was replaced: spending it again is invalid_grant.
    expect(await refresh(installation.refreshToken)).toEqual({
      status: 400,
      body: { error: "invalid_grant", error_description: "Invalid refresh token" }
    })
    expect((await refresh(renewed.body.refresh_token)).status).toBe(200)
  })

  it("answers invalid_client and invalid_request", async () => {
    const app = emulator.control.createApp()
    const { refreshToken } = emulator.control.installApp("demo", app.clientId)
    const base = {
      grant_type: "refresh_token",
      client_id: app.clientId,
      client_secret: "wrong",
      refresh_token: refreshToken
    }
    expect((await call(emulator.control.oauthTokenUrl, base)).body.error).toBe("invalid_client")
    expect((await call(emulator.control.oauthTokenUrl, { ...base, grant_type: "password" })).body.error).toBe(
      "invalid_request"
    )
    expect((await call(emulator.control.oauthTokenUrl, { grant_type: "refresh_token" })).body.error).toBe(
      "invalid_request"
    )
  })

  it("expires refresh tokens after their lifetime", async () => {
    const app = emulator.control.createApp({ refreshTokenLifetimeSeconds: 10 })
    const { refreshToken } = emulator.control.installApp("demo", app.clientId)
    emulator.control.clock.advance(10_000)
    const answer = await call(emulator.control.oauthTokenUrl, {
      grant_type: "refresh_token",
      client_id: app.clientId,
      client_secret: app.clientSecret,
      refresh_token: refreshToken
    })
    expect(answer.body.error).toBe("invalid_grant")
  })
})
