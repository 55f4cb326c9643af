import { manyPortals, portalPacking } from "./scenarios/portalEntity.js"

for (const s of [manyPortals, portalPacking]) {
  const t = performance.now()
  const r = await s.run({ quick: false, log: (l) => console.error(l) })
  console.log(s.id, JSON.stringify(r), ((performance.now() - t) / 1000).toFixed(1), "s")
}
process.exit(0)
