// Package metrics is a node's Prometheus metrics and health endpoints.
//
// Two kinds of series: what is counted as it happens (requests and their
// latency and errors, from the server's Observer; fdatasync latency,
// from the storage manager's OnSync hook) lives in Prometheus counters
// and histograms, resolved per API once so that observing allocates
// nothing; everything else is read from the node's components when
// Prometheus scrapes (a Collector over Sources): connections and bytes,
// log sizes and segments, leaders, under-replicated and offline
// partitions, ISR changes, the controller's state, groups and their
// rebalances, and each group's committed offsets and lag. A broker
// computes the lag of the groups it coordinates, for the partitions it
// hosts a replica of: the partition's high watermark minus the
// committed offset.
//
// Per-partition series can be switched off (metrics.partition.labels);
// per-topic and per-group sums remain.
//
// Handler serves /metrics, /healthz (the node works) and /readyz (the
// broker has caught up with the metadata and loaded its coordinators);
// Listen serves it on metrics.listen. Serve is the HTTP listener itself,
// which `sluice serve --debug-addr` also uses for Go's profiles.
package metrics
