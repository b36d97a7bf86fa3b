// chart.js with only the parts these pages draw registered (line and bar charts on category and linear axes), so
// the bundle carries nothing else of it.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js'

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
)

export const COLORS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed'] as const

export interface Series {
  label: string
  data: Array<number | null>
  color?: string
}

/** Whether the value at `i` has no value beside it (a line cannot be drawn through it). */
function lone(data: ReadonlyArray<number | null>, i: number): boolean {
  return (
    data[i] !== null &&
    data[i] !== undefined &&
    (data[i - 1] ?? null) === null &&
    (data[i + 1] ?? null) === null
  )
}

/** A chart on a canvas, created once and updated in place (`show`). */
export class ChartView {
  private readonly chart: Chart

  constructor(
    canvas: HTMLCanvasElement,
    private readonly kind: 'line' | 'bar',
    options: {
      horizontal?: boolean
      yMax?: number
      /** A logarithmic value axis (latencies: a hit's fraction of a millisecond beside a miss's seconds). */
      log?: boolean
      /** Every category label, turned if need be, rather than every other one. */
      allLabels?: boolean
      /** Ticks of the value axis. */
      tick?: (value: number) => string
      legend?: boolean
    } = {},
  ) {
    const valueAxis = options.horizontal ? 'x' : 'y'
    // A logarithmic axis has ticks at 1, 2, 3… 10, 20…: 1, 2 and 5 times a power of ten are labelled, only the
    // powers of ten when the axis spans more than three of them.
    const valueTick = (v: number, ticks: ReadonlyArray<{ value: number }>) => {
      if (!options.log || v <= 0) return options.tick?.(v) ?? ''
      const values = ticks.map((t) => t.value).filter((t) => t > 0)
      const decades = Math.log10(Math.max(...values) / Math.min(...values))
      const mantissa = Math.round((v / 10 ** Math.floor(Math.log10(v) + 1e-9)) * 1e6) / 1e6
      return (decades > 3 ? [1] : [1, 2, 5]).includes(mantissa) ? (options.tick?.(v) ?? '') : ''
    }
    const config: ChartConfiguration = {
      type: kind,
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: options.horizontal ? 'y' : 'x',
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: options.legend ?? false, position: 'bottom' },
          tooltip: { enabled: true },
        },
        scales: {
          [valueAxis]: {
            ...(options.log ? { type: 'logarithmic' } : { beginAtZero: true }),
            ...(options.yMax !== undefined ? { max: options.yMax } : {}),
            ticks: options.tick
              ? {
                  callback: (v: string | number, _i: number, ticks: ReadonlyArray<{ value: number }>) =>
                    valueTick(Number(v), ticks),
                }
              : {},
          },
          [valueAxis === 'x' ? 'y' : 'x']: {
            ticks: options.allLabels ? { autoSkip: false } : { autoSkip: true, maxRotation: 0 },
          },
        },
      },
    }
    this.chart = new Chart(canvas, config)
  }

  /** Replaces the labels and series and redraws. */
  show(labels: string[], series: Series[]): void {
    this.chart.data.labels = labels
    this.chart.data.datasets = series.map((s, i) => {
      const color = s.color ?? COLORS[i % COLORS.length] ?? '#2563eb'
      return {
        label: s.label,
        data: s.data,
        borderColor: color,
        backgroundColor: this.kind === 'bar' ? `${color}cc` : `${color}22`,
        borderWidth: this.kind === 'bar' ? 0 : 2,
        // Dense lines without dots, but a value between two gaps (a lone minute with reads) gets one, or it
        // would not show at all.
        pointRadius: (ctx: { dataIndex: number }) =>
          s.data.length <= 40 ? 2 : lone(s.data, ctx.dataIndex) ? 3 : 0,
        fill: this.kind === 'line' && series.length === 1,
        tension: 0.2,
      }
    })
    this.chart.update()
  }
}
