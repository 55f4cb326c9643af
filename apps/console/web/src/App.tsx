import { useEffect, useState } from "preact/hooks"
import { authProblem, get, type Session } from "./api"
import { Problem } from "./views/common"
import { DeadLetters } from "./views/DeadLetters"
import { Inbox } from "./views/Inbox"
import { MessageDetail } from "./views/MessageDetail"
import { Outbox } from "./views/Outbox"
import { Portals } from "./views/Portals"
import { PreviewView } from "./views/PreviewView"
import { Quota } from "./views/Quota"

const useHash = () => {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const changed = () => setHash(location.hash)
    addEventListener("hashchange", changed)
    return () => removeEventListener("hashchange", changed)
  }, [])
  return hash
}

export const App = () => {
  const hash = useHash()
  const [session, setSession] = useState<Session | undefined>(undefined)
  const [failure, setFailure] = useState<string | undefined>(undefined)
  useEffect(() => {
    get<Session>("session").then(setSession, (error: Error) => setFailure(error.message))
  }, [])
  const [view = "outbox", id] = hash.replace(/^#\/?/, "").split("/")
  const tabs: ReadonlyArray<readonly [string, string]> = [
    ["outbox", "Outbox"],
    ["dead", "Dead letters"],
    ["quota", "Quota"],
    ["portals", "Portals"],
    ["preview", "Preview"],
    ...(session?.demo === true ? [["inbox", "Emulated inboxes"] as const] : [])
  ]
  return (
    <>
      <header class="container-fluid">
        <nav>
          <ul>
            <li>
              <strong>Linecast</strong> console
              {session?.mode === "demo" ? <small class="badge demo">demo</small> : null}
            </li>
          </ul>
          <ul>
            {tabs.map(([name, label]) => (
              <li key={name}>
                <a href={`#/${name}`} aria-current={view === name ? "page" : undefined} data-testid={`tab-${name}`}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main class="container-fluid">
        {authProblem.value === undefined ? null : (
          <p class="problem" role="alert" data-testid="auth-problem">
            {authProblem.value} Reload the page to sign in again.
          </p>
        )}
        <Problem message={failure} />
        {session === undefined ? (
          failure === undefined ? (
            <p aria-busy="true">Loading…</p>
          ) : null
        ) : view === "outbox" && id !== undefined && id !== "" ? (
          <MessageDetail id={decodeURIComponent(id)} />
        ) : view === "dead" ? (
          <DeadLetters />
        ) : view === "quota" ? (
          <Quota session={session} />
        ) : view === "portals" ? (
          <Portals />
        ) : view === "preview" ? (
          <PreviewView session={session} />
        ) : view === "inbox" && session.demo ? (
          <Inbox />
        ) : (
          <Outbox session={session} />
        )}
      </main>
    </>
  )
}
