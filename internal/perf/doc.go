// Package perf is `sluice perf`: load generators measured the way Kafka
// users measure a broker (kafka-producer-perf-test,
// kafka-consumer-perf-test), against any Kafka-compatible bootstrap
// address, with the franz-go client.
//
//   - Produce sends records of a fixed size, as fast as it can or at a
//     target rate, from several producer clients, and measures each
//     record's acknowledgement latency (from the produce call to its
//     promise).
//   - Consume reads a topic from its start with several consumer
//     clients until it has read a number of records or a time passes.
//   - E2E produces at a rate and consumes at once: every record carries
//     its send time, and the latency is from there to its delivery.
//
// Each prints a progress line every second and returns a Result: records
// and bytes per second, and latency percentiles from a histogram
// (Histogram: constant memory, at most 0.8% error). Produce allocates
// nothing per record: records are pooled and reused once acknowledged.
package perf
