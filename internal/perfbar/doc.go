// Package perfbar holds the side-by-side benchmarks behind the README's
// performance bar. Its tests start each target as its own process on
// loopback — Sluice (`sluice serve`, durable and page-cache topics, and a
// three-node cluster), franz-go's in-memory fake cluster (kfake) and a
// "blackhole" kfake whose produce requests a control hook answers without
// storing anything — and drive them all with the same franz-go client
// (internal/perf) in one run, targets interleaved within each repetition,
// reporting medians and ratios, and the CPU time each target's processes
// used during each measurement.
//
// The default test run makes one small pass over every target to keep
// the harness working; SLUICE_PERF_BAR=1 makes the full measurement and
// SLUICE_PERF_RSS=1 the ten-minute memory run (see the README's
// Performance section).
package perfbar
