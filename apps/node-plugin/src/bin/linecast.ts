#!/usr/bin/env node
/** The `linecast` command line. Logs go to stderr: stdout is the command's output, for scripts. */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import { run } from "../cli/linecast.js"

const logs = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

NodeRuntime.runMain(run(process.argv).pipe(Effect.provide(NodeContext.layer), Effect.provide(logs)), {
  disableErrorReporting: true,
  disablePrettyLogger: true
})
