// Package replica holds a broker's partitions: for every partition the
// metadata image places on this broker, a local log from the storage
// manager, its leader, leader epoch and high watermark.
//
// The manager follows the image: Apply reconciles the local partitions
// with an image (creating logs for new assignments with their topic's
// configuration, updating configurations and leadership, deleting the logs
// of partitions that left the broker or whose topic was removed). Handlers
// look partitions up and read and append through them.
//
// Replication is not built yet: a partition's only replica is its leader,
// and the high watermark is the log's durable end (the synced offset in
// the durable mode). Followers, the ISR and the high watermark over it
// come with replication; its leader-side state machine (leader_state.go:
// follower fetch offsets, Kafka's lastCaughtUpTime rule, the high
// watermark over the maximal ISR, ISR shrink and expansion candidates)
// the divergence decisions of fetch-based truncation (divergence.go) and
// the follower's per-partition fetch state machine (follower_state.go:
// the next fetch, and what to do with the leader's answer — append,
// truncate, start over at the leader's log start, back off, wait for
// metadata) exist and are tested, but are not wired yet.
package replica
