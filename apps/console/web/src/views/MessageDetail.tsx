import { useState } from "preact/hooks"
import { type Entry, get, type HistoryRecord, type Preview, post } from "../api"
import { relative, time } from "../format"
import { usePoll } from "../poll"
import { PreviewPane, Problem, StateBadge } from "./common"

interface Detail {
  readonly entry: Entry
  readonly history: ReadonlyArray<HistoryRecord>
  readonly preview: Preview
}

export const MessageDetail = ({ id }: { readonly id: string }) => {
  const detail = usePoll(() => get<Detail>(`messages/${encodeURIComponent(id)}`), id)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [failure, setFailure] = useState<string | undefined>(undefined)
  const replay = () =>
    post<{ entry: Entry }>(`messages/${encodeURIComponent(id)}/replay`).then(
      (answer) => {
        setFailure(undefined)
        setNotice(`Replayed: the message is ${answer.entry.state} again.`)
        detail.refresh()
      },
      (error: Error) => setFailure(error.message)
    )
  const entry = detail.data?.entry
  return (
    <section data-testid="message-detail">
      <p>
        <a href="#/outbox">← Outbox</a>
      </p>
      <Problem message={detail.error ?? failure} />
      {notice === undefined ? null : <p class="notice">{notice}</p>}
      {entry === undefined || detail.data === undefined ? (
        detail.error === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : null
      ) : (
        <>
          <h2>
            Message <code>{entry.id}</code> <StateBadge state={entry.state} />
          </h2>
          {entry.reason === undefined ? null : (
            <p class="reason" data-testid="reason">
              {entry.reason}
            </p>
          )}
          <div class="grid">
            <dl>
              <dt>Recipient</dt>
              <dd>
                user {entry.message.userId} on line <code>{entry.message.lineCode}</code>, portal {entry.portal}
              </dd>
              <dt>Idempotency key</dt>
              <dd>
                <code>{entry.idempotencyKey}</code>
              </dd>
              <dt>Policy</dt>
              <dd>{entry.policy}</dd>
            </dl>
            <dl>
              <dt>Created</dt>
              <dd>{time(entry.createdAt)}</dd>
              {entry.nextAllowedAt === undefined ? null : (
                <>
                  <dt>Next allowed</dt>
                  <dd>
                    {time(entry.nextAllowedAt)} ({relative(entry.nextAllowedAt)})
                  </dd>
                </>
              )}
              <dt>Receipt</dt>
              <dd>
                {entry.receipt === undefined
                  ? "—"
                  : `accepted ${time(entry.receipt.sentAt)}, request ${entry.receipt.requestId}${entry.settlement === undefined ? "" : ` (${entry.settlement})`}`}
              </dd>
              {entry.mergedInto === undefined ? null : (
                <>
                  <dt>Went out in</dt>
                  <dd>
                    <a href={`#/outbox/${entry.mergedInto}`}>{entry.mergedInto}</a>
                  </dd>
                </>
              )}
            </dl>
          </div>
          {entry.state === "dead" || entry.state === "ambiguous" ? (
            <button type="button" onClick={replay} data-testid="replay">
              Replay
            </button>
          ) : null}
          <h3>Preview</h3>
          <PreviewPane preview={detail.data.preview} />
          <h3>History</h3>
          <table class="striped" data-testid="history">
            <thead>
              <tr>
                <th>Version</th>
                <th>When</th>
                <th>State</th>
                <th>Attempts</th>
                <th>Error / receipt</th>
              </tr>
            </thead>
            <tbody>
              {detail.data.history.map((record) => (
                <tr key={record.version}>
                  <td>{record.version}</td>
                  <td>{time(record.at)}</td>
                  <td>
                    <StateBadge state={record.state} />
                    {record.generation > 0 ? <small> replay {record.generation}</small> : null}
                  </td>
                  <td>{record.attempts}</td>
                  <td>
                    {record.lastError === undefined
                      ? record.receipt === undefined
                        ? record.nextAllowedAt === undefined
                          ? ""
                          : `waits until ${time(record.nextAllowedAt)}`
                        : `accepted, request ${record.receipt.requestId}`
                      : `${record.lastError.code} (${record.lastError.errorClass}): ${record.lastError.message}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
