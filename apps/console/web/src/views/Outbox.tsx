import { useState } from "preact/hooks"
import { get, type Page, type Session, type State } from "../api"
import { BBText } from "../ChatMessage"
import { relative, shortLine, time } from "../format"
import { usePoll } from "../poll"
import { Pager, Problem, StateBadge } from "./common"

interface Filters {
  readonly state: string
  readonly portal: string
  readonly line: string
  readonly user: string
  readonly key: string
}

const empty: Filters = { state: "", portal: "", line: "", user: "", key: "" }
const limit = 25

export const Outbox = ({ session }: { readonly session: Session }) => {
  const [filters, setFilters] = useState<Filters>(empty)
  const [draft, setDraft] = useState<Filters>(empty)
  const [offset, setOffset] = useState(0)
  const query = new URLSearchParams(
    Object.entries({ ...filters, offset: String(offset), limit: String(limit) }).filter(([, value]) => value !== "")
  ).toString()
  const page = usePoll(() => get<Page>(`messages?${query}`), query)
  const summary = usePoll(() => get<{ counts: Record<State, number> }>("summary"), "summary")
  const apply = (next: Filters) => {
    setFilters(next)
    setDraft(next)
    setOffset(0)
  }
  const field = (name: keyof Filters, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        name={name}
        placeholder={placeholder}
        value={draft[name]}
        onInput={(event) => setDraft({ ...draft, [name]: (event.target as HTMLInputElement).value })}
      />
    </label>
  )
  return (
    <section data-testid="outbox">
      <h2>Outbox</h2>
      <div class="counts">
        {session.states.map((state) => (
          <button
            type="button"
            key={state}
            class={filters.state === state ? "" : "outline"}
            onClick={() => apply({ ...filters, state: filters.state === state ? "" : state })}
          >
            {state} <strong data-testid={`count-${state}`}>{summary.data?.counts[state] ?? "…"}</strong>
          </button>
        ))}
      </div>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          apply(draft)
        }}
      >
        <label>
          State
          <select
            name="state"
            value={draft.state}
            onChange={(event) => apply({ ...draft, state: (event.target as HTMLSelectElement).value })}
          >
            <option value="">any</option>
            {session.states.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </label>
        {field("portal", "Portal", session.defaultPortal)}
        {field("line", "Line", "line code")}
        {field("user", "Recipient", "user id")}
        {field("key", "Idempotency key", "key")}
        <button type="submit">Filter</button>
        <button type="button" class="secondary outline" onClick={() => apply(empty)}>
          Clear
        </button>
      </form>
      <Problem message={page.error} />
      {page.data === undefined ? null : (
        <>
          <table class="striped" data-testid="messages">
            <thead>
              <tr>
                <th>State</th>
                <th>Recipient</th>
                <th>Message</th>
                <th>Created</th>
                <th>Next allowed / sent</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((entry) => (
                <tr key={entry.id} data-testid="message-row" data-id={entry.id} data-key={entry.idempotencyKey}>
                  <td>
                    <StateBadge state={entry.state} />
                  </td>
                  <td>
                    user {entry.message.userId} ·{" "}
                    <code title={entry.message.lineCode}>{shortLine(entry.message.lineCode)}</code>
                  </td>
                  <td>
                    <a href={`#/outbox/${entry.id}`} class="message-text">
                      <BBText text={entry.message.message} />
                    </a>
                    {entry.reason === undefined ? null : <small class="reason-inline">{entry.reason}</small>}
                  </td>
                  <td>{time(entry.createdAt)}</td>
                  <td>
                    {entry.state === "deferred" && entry.nextAllowedAt !== undefined
                      ? `${time(entry.nextAllowedAt)} (${relative(entry.nextAllowedAt)})`
                      : entry.receipt === undefined
                        ? "—"
                        : `sent ${time(entry.receipt.sentAt)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager total={page.data.total} offset={offset} limit={limit} onOffset={setOffset} />
        </>
      )}
    </section>
  )
}
