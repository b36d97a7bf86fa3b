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
  PointElement,
  Tooltip,
)

export const COLORS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed'] as const

export interface Series {
  label: string
  data: Array<number | null>
  color?: string
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
      /** Ticks of the value axis. */
      tick?: (value: number) => string
      legend?: boolean
    } = {},
  ) {
    const valueAxis = options.horizontal ? 'x' : 'y'
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
            beginAtZero: true,
            ...(options.yMax !== undefined ? { max: options.yMax } : {}),
            ticks: options.tick ? { callback: (v: string | number) => options.tick?.(Number(v)) } : {},
          },
          [valueAxis === 'x' ? 'y' : 'x']: { ticks: { autoSkip: true, maxRotation: 0 } },
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
        pointRadius: s.data.length > 40 ? 0 : 2,
        fill: this.kind === 'line' && series.length === 1,
        tension: 0.2,
      }
    })
    this.chart.update()
  }
}
