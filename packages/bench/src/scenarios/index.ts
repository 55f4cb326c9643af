/** Every scenario, in the order they run. */
import type { Scenario } from "../Scenario.js"
import { batch } from "./batch.js"
import { crmIngest } from "./crmIngest.js"
import { faultsScenario } from "./faults.js"
import { memory } from "./memory.js"
import { multiRunner } from "./multiRunner.js"
import { manyPortals, portalBudget, portalPacking } from "./portalEntity.js"
import { rateLimited } from "./rateLimited.js"
import { relay } from "./relay.js"
import { throughput } from "./throughput.js"

export const scenarios: ReadonlyArray<Scenario> = [
  throughput,
  rateLimited,
  faultsScenario,
  batch,
  multiRunner,
  portalBudget,
  portalPacking,
  manyPortals,
  crmIngest,
  relay,
  memory
]
