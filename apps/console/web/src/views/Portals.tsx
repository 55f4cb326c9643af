import { get, type PortalStatus } from "../api"
import { usePoll } from "../poll"
import { Problem, Unknown } from "./common"

export const Portals = () => {
  const portals = usePoll(() => get<{ portals: ReadonlyArray<PortalStatus> }>("portals"), "portals", 5000)
  return (
    <section data-testid="portals">
      <h2>Portals</h2>
      <p class="muted">
        Rate budget, operating time, circuit breaker and token health. Tokens themselves are never shown.
      </p>
      <Problem message={portals.error} />
      <table class="striped">
        <thead>
          <tr>
            <th>Portal</th>
            <th>Rate budget</th>
            <th>Operating time</th>
            <th>Circuit breaker</th>
            <th>Token</th>
          </tr>
        </thead>
        <tbody>
          {(portals.data?.portals ?? []).map((portal) => (
            <tr key={portal.id} data-testid="portal-row">
              <td>
                <strong>{portal.id}</strong>
                {portal.domain === undefined ? null : <small> · {portal.domain}</small>}
              </td>
              <td>
                {portal.budget === undefined ? (
                  <Unknown />
                ) : (
                  <>
                    <progress value={portal.budget.level} max={portal.budget.limit} />
                    {portal.budget.level.toFixed(1)} / {portal.budget.limit}
                  </>
                )}
              </td>
              <td>
                {portal.operatingTime === undefined ? (
                  <Unknown />
                ) : portal.operatingTime.length === 0 ? (
                  "none used"
                ) : (
                  portal.operatingTime.map((method) => (
                    <div key={method.method}>
                      {method.method}: {method.usedSeconds.toFixed(0)} s of {method.limitSeconds} s
                    </div>
                  ))
                )}
              </td>
              <td>
                {portal.breaker === undefined ? (
                  <Unknown />
                ) : (
                  <span class={`badge breaker-${portal.breaker}`}>{portal.breaker}</span>
                )}
              </td>
              <td>{portal.token === undefined ? <Unknown /> : portal.token}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
