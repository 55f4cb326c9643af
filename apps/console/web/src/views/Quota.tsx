import { useState } from "preact/hooks"
import { type Entry, get, type Session } from "../api"
import { relative, time } from "../format"
import { usePoll } from "../poll"
import { Problem, StateBadge } from "./common"

interface QuotaAnswer {
  readonly recipient: { readonly portal: string; readonly lineCode: string; readonly userId: number }
  readonly now: number
  readonly lastSentAt: number | null
  readonly nextAllowedAt: number | null
  readonly pending: ReadonlyArray<Entry>
  readonly digested: number
}

export const Quota = ({ session }: { readonly session: Session }) => {
  const [draft, setDraft] = useState({
    user: String(session.users[1]?.id ?? session.users[0]?.id ?? ""),
    line: session.lineCodes[0] ?? "",
    portal: session.defaultPortal
  })
  const [asked, setAsked] = useState<typeof draft | undefined>(undefined)
  const query = asked === undefined ? "" : new URLSearchParams(asked).toString()
  const quota = usePoll(
    () => (asked === undefined ? Promise.resolve(undefined) : get<QuotaAnswer>(`quota?${query}`)),
    query
  )
  const data = quota.data
  return (
    <section data-testid="quota">
      <h2>Quota</h2>
      <p class="muted">Bitrix24 accepts one message per open line and user in any 7 × 24 h.</p>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setAsked(draft)
        }}
      >
        <label htmlFor="quota-user">
          Recipient (user id)
          {session.users.length > 0 ? (
            <select
              id="quota-user"
              name="user"
              value={draft.user}
              onChange={(event) => setDraft({ ...draft, user: (event.target as HTMLSelectElement).value })}
            >
              {session.users.map((user) => (
                <option key={user.id} value={String(user.id)}>
                  {user.id} · {user.name}
                </option>
              ))}
            </select>
          ) : (
            <input
              id="quota-user"
              name="user"
              value={draft.user}
              onInput={(event) => setDraft({ ...draft, user: (event.target as HTMLInputElement).value })}
            />
          )}
        </label>
        <label>
          Line
          <input
            name="line"
            value={draft.line}
            onInput={(event) => setDraft({ ...draft, line: (event.target as HTMLInputElement).value })}
          />
        </label>
        <label>
          Portal
          <input
            name="portal"
            value={draft.portal}
            onInput={(event) => setDraft({ ...draft, portal: (event.target as HTMLInputElement).value })}
          />
        </label>
        <button type="submit" data-testid="quota-show">
          Show
        </button>
      </form>
      <Problem message={quota.error} />
      {data === undefined ? null : (
        <>
          <div class="grid">
            <article>
              <header>Last accepted send</header>
              <strong data-testid="last-sent">
                {data.lastSentAt === null ? "none recorded" : time(data.lastSentAt)}
              </strong>
            </article>
            <article>
              <header>Next allowed</header>
              <strong data-testid="next-allowed">
                {data.nextAllowedAt === null
                  ? "now: the window is open"
                  : `${time(data.nextAllowedAt)} (${relative(data.nextAllowedAt, data.now)})`}
              </strong>
            </article>
            <article>
              <header>Waiting</header>
              <strong>
                {data.pending.length} message(s), {data.digested} to be digested
              </strong>
            </article>
          </div>
          {data.pending.length === 0 ? null : (
            <table class="striped">
              <thead>
                <tr>
                  <th>State</th>
                  <th>Policy</th>
                  <th>Message</th>
                  <th>Waits until</th>
                </tr>
              </thead>
              <tbody>
                {data.pending.map((entry) => (
                  <tr key={entry.id}>
                    <td>
                      <StateBadge state={entry.state} />
                    </td>
                    <td>{entry.policy}</td>
                    <td>
                      <a href={`#/outbox/${entry.id}`}>{entry.message.message.slice(0, 80)}</a>
                    </td>
                    <td>{entry.nextAllowedAt === undefined ? "—" : time(entry.nextAllowedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  )
}
