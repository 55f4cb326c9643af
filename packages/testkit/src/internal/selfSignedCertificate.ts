/**
 * A self-signed certificate for 127.0.0.1 and localhost, made at start with the `selfsigned`
 * library, and its PEM written to a temporary file so that `NODE_EXTRA_CA_CERTS=<file>` makes any
 * Node client trust the emulator.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Selfsigned from "selfsigned"

export interface SelfSignedCertificate {
  readonly key: string
  readonly cert: string
  /** Path of the certificate's PEM file. */
  readonly caCertPath: string
}

export const makeSelfSignedCertificate: Effect.Effect<SelfSignedCertificate> = Effect.promise(async () => {
  const now = new Date()
  const pems = await Selfsigned.generate([{ name: "commonName", value: "Linecast portal emulator" }], {
    keySize: 2048,
    notBeforeDate: new Date(now.getTime() - 24 * 3600 * 1000),
    notAfterDate: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" }
        ]
      }
    ]
  })
  const caCertPath = join(mkdtempSync(join(tmpdir(), "linecast-emulator-")), "ca.pem")
  writeFileSync(caCertPath, pems.cert)
  return { key: pems.private, cert: pems.cert, caCertPath }
})
