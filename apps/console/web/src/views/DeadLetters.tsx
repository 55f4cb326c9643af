import { useState } from "preact/hooks"
import { get, type Page, post } from "../api"
import { shortLine, time } from "../format"
import { usePoll } from "../poll"
import { Pager, Problem } from "./common"

const limit = 25

interface Pending {
  readonly action: "replay" | "purge"
  readonly ids: ReadonlyArray<string>
}

export const DeadLetters = () => {
  const [offset, setOffset] = useState(0)
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const [confirming, setConfirming] = useState<Pending | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [failure, setFailure] = useState<string | undefined>(undefined)
  const page = usePoll(() => get<Page>(`messages?state=dead&limit=${limit}&offset=${offset}`), String(offset))
  const done = (message: string) => {
    setFailure(undefined)
    setNotice(message)
    setSelected(new Set())
    page.refresh()
  }
  const failed = (error: Error) => setFailure(error.message)
  const replayOne = (id: string) =>
    post<{ entry: { state: string } }>(`messages/${encodeURIComponent(id)}/replay`).then(
      (answer) => done(`Replayed ${id}: it is ${answer.entry.state} again.`),
      failed
    )
  const run = (pending: Pending) => {
    setConfirming(undefined)
    if (pending.action === "purge") {
      return post<{ purged: number; skipped: number }>("messages/purge", { ids: pending.ids }).then(
        (answer) =>
          done(
            `Purged ${answer.purged}.${answer.skipped > 0 ? ` ${answer.skipped} were no longer dead and were kept.` : ""}`
          ),
        failed
      )
    }
    return post<{ results: ReadonlyArray<{ id: string; ok: boolean; message?: string }> }>("messages/replay", {
      ids: pending.ids
    }).then((answer) => {
      const refused = answer.results.filter((result) => !result.ok)
      done(
        `Replayed ${answer.results.length - refused.length}.${refused.map((result) => ` ${result.message}`).join("")}`
      )
    }, failed)
  }
  const toggle = (id: string) => {
    const next = new Set(selected)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    setSelected(next)
  }
  return (
    <section data-testid="dead-letters">
      <h2>Dead letters</h2>
      <p class="muted">Messages Linecast gave up on, with the reason. Replay sends one again; purge forgets it.</p>
      <Problem message={page.error ?? failure} />
      {notice === undefined ? null : (
        <p class="notice" data-testid="notice">
          {notice}
        </p>
      )}
      <div class="actions">
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => setConfirming({ action: "replay", ids: [...selected] })}
        >
          Replay selected ({selected.size})
        </button>
        <button
          type="button"
          class="secondary"
          disabled={selected.size === 0}
          onClick={() => setConfirming({ action: "purge", ids: [...selected] })}
          data-testid="purge-selected"
        >
          Purge selected ({selected.size})
        </button>
      </div>
      {page.data === undefined ? null : page.data.items.length === 0 ? (
        <p data-testid="no-dead-letters">No dead letters.</p>
      ) : (
        <table class="striped">
          <thead>
            <tr>
              <th />
              <th>Recipient</th>
              <th>Message</th>
              <th>Why</th>
              <th>Failed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((entry) => (
              <tr key={entry.id} data-testid="dead-row" data-id={entry.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${entry.id}`}
                    checked={selected.has(entry.id)}
                    onChange={() => toggle(entry.id)}
                  />
                </td>
                <td>
                  user {entry.message.userId} · <code>{shortLine(entry.message.lineCode)}</code>
                </td>
                <td>
                  <a href={`#/outbox/${entry.id}`}>{entry.message.message.slice(0, 60)}</a>
                </td>
                <td data-testid="reason">
                  {entry.reason}
                  {entry.lastError === undefined ? null : <small class="muted"> ({entry.lastError.code})</small>}
                </td>
                <td>{time(entry.updatedAt)}</td>
                <td>
                  <button type="button" class="outline" onClick={() => replayOne(entry.id)} data-testid="replay">
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.data === undefined ? null : (
        <Pager total={page.data.total} offset={offset} limit={limit} onOffset={setOffset} />
      )}
      {confirming === undefined ? null : (
        <dialog open data-testid="confirm">
          <article>
            <h3>
              {confirming.action === "purge" ? "Purge" : "Replay"} {confirming.ids.length} message(s)?
            </h3>
            <p>
              {confirming.action === "purge"
                ? "Purged messages are gone for good: they cannot be replayed afterwards."
                : "Each one is sent again, and may use its recipient's message for the week."}
            </p>
            <footer>
              <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
                Cancel
              </button>
              <button type="button" onClick={() => run(confirming)} data-testid="confirm-yes">
                {confirming.action === "purge" ? "Purge" : "Replay"}
              </button>
            </footer>
          </article>
        </dialog>
      )}
    </section>
  )
}
