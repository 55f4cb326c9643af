/**
 * Effect's metrics as Prometheus text (exposition format 0.0.4), for `/metrics`: counters and
 * gauges with their tags as labels, histograms with their buckets, sum and count.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

const name = (value: string) => value.replace(/[^a-zA-Z0-9_:]/g, "_")
const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const labels = (
  tags: ReadonlyArray<{ readonly key: string; readonly value: string }>,
  extra: Record<string, string> = {}
) => {
  const all = [...tags.map((tag) => [tag.key, tag.value] as const), ...Object.entries(extra)]
  return all.length === 0 ? "" : `{${all.map(([key, value]) => `${name(key)}="${escapeLabel(value)}"`).join(",")}}`
}

/**
 * The current value of every metric of this process.
 *
 * @since 0.1.0
 * @category rendering
 */
export const prometheusText = (): string => {
  const lines: Array<string> = []
  const typed = new Set<string>()
  const declare = (metric: string, type: string, description: Option.Option<string>) => {
    if (typed.has(metric)) return
    typed.add(metric)
    if (Option.isSome(description)) lines.push(`# HELP ${metric} ${description.value.replace(/\n/g, " ")}`)
    lines.push(`# TYPE ${metric} ${type}`)
  }
  for (const pair of Metric.unsafeSnapshot()) {
    const metric = name(pair.metricKey.name)
    const tags = pair.metricKey.tags
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      declare(metric, "counter", pair.metricKey.description)
      lines.push(`${metric}${labels(tags)} ${Number(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      declare(metric, "gauge", pair.metricKey.description)
      lines.push(`${metric}${labels(tags)} ${Number(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      declare(metric, "histogram", pair.metricKey.description)
      for (const [bound, count] of state.buckets) {
        lines.push(`${metric}_bucket${labels(tags, { le: Number.isFinite(bound) ? String(bound) : "+Inf" })} ${count}`)
      }
      lines.push(`${metric}_sum${labels(tags)} ${state.sum}`, `${metric}_count${labels(tags)} ${state.count}`)
    }
  }
  return `${lines.join("\n")}\n`
}
