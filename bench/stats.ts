/** Summaries the benchmarks share: each prints medians over rounds and latency quantiles. */

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** p50 and p99 of `latencies`, which it sorts in place; 0 for an empty list. */
export function latencyQuantiles(latencies: number[]): { p50: number; p99: number } {
	latencies.sort((a, b) => a - b);
	const at = (q: number) =>
		latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
	return { p50: at(0.5), p99: at(0.99) };
}
