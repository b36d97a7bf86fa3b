/**
 * First day of the sample data every benchmark runs on (`--sample-start`): the fixed 91 days 2024-01-01 … 2024-03-31
 * the published figures were measured on, not the default last 91 days, so figures stay comparable.
 */
export const SAMPLE_START = '2024-01-01'
