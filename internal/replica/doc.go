// Package replica holds a broker's partitions: for every partition the
// metadata image places on this broker, a local log from the storage
// manager, its role (leader or follower), leader epoch and high
// watermark.
//
// The manager follows the image: Apply reconciles the local partitions
// with an image (creating logs for new assignments with their topic's
// configuration, updating configurations and roles, deleting the logs of
// partitions that left the broker or whose topic was removed).
//
// Leaders. A leading partition keeps a leaderState (leader_state.go, a
// pure state machine): each follower's fetch offset and Kafka's
// lastCaughtUpTime, the ISR, and the high watermark — the smallest
// durable end over the maximal ISR (committed ISR plus proposed
// additions), the leader's own included. The Fetch handler feeds it the
// followers' fetches (Partition.FollowerFetch); the leader's own durable
// end is read when the high watermark is asked for. Every move of the
// high watermark wakes the log's waiters (acks=all produces, long-polling
// consumers). The ISR shrinks (shrinkISRs, every half
// replica.lag.time.max.ms) and expands (on a caught-up fetch) through the
// controller's AlterPartition command; the change counts once the
// metadata shows it.
//
// Followers. A following partition has a fetchState (follower_state.go,
// also pure): the next fetch, and what to do with the leader's answer.
// One fetcher goroutine per source broker (times num.replica.fetchers)
// sends full Fetch requests for its partitions, appends what arrives as
// a follower (checking each batch's framing, CRC and header, as Kafka's
// followers do, not its records, which the leader checked), truncates
// where the leader reports a DivergingEpoch (divergence.go), and in the durable mode waits for the appended
// batches to be fsynced before its next fetch reports the new offset —
// so the leader's high watermark only ever counts durable copies.
//
// The high watermarks are checkpointed in replication-offset-checkpoint;
// on restart a partition starts from the checkpoint (at most its log
// end), never from the log end.
package replica
