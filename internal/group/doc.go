// Package group is Sluice's coordinator of Kafka's classic consumer groups:
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// OffsetDelete, ListGroups, DescribeGroups and DeleteGroups, with the
// groups and offsets persisted in the __consumer_offsets partitions in
// Kafka's own record formats.
//
// # Model
//
// A group belongs to the __consumer_offsets partition PartitionFor names.
// The groups of one partition form a shard: a pure state machine with no
// goroutines, locks, clock or I/O. Events go in with the time they happen
// at (a request, a timer firing, the outcome of a write); outputs come out
// (replies to waiting requests, writes to append). Each group moves
// through Kafka's states:
//
//	        a member joins
//	Empty ──────────────────────▶ PreparingRebalance ◀─────────────────────┐
//	  ▲                             │          ▲                            │
//	  │ the join phase ends         │          │ a member joins, leaves,    │ as from
//	  │ with no member              │          │ expires or changes its     │ CompletingRebalance,
//	  └─────────────────────────────┤          │ metadata                   │ or the leader rejoins
//	                                │          │                            │
//	      all members rejoined, or  ▼          │                            │
//	      the rebalance timeout   CompletingRebalance                       │
//	                                │                                       │
//	      the leader's assignment   ▼                                       │
//	      is durable              Stable ───────────────────────────────────┘
//
//	Empty ── DeleteGroups, or retention left it without offsets ──▶ Dead
//	         (the group is gone once its tombstones are durable)
//
// Timers live in the groups: member sessions (and the five minutes a new
// member may wait for its first join), member ids handed out with
// MEMBER_ID_REQUIRED awaiting their rejoin, the join phase (rebalance
// timeout, or group.initial.rebalance.delay for a group leaving Empty), the
// sync phase (members that do not SyncGroup within the rebalance timeout
// are removed), and the offsets retention check of each shard. Time only
// enters as the now of an event or tick; every event first fires the
// timers due by then.
//
// # Persistence
//
// Records are what Kafka writes: an OffsetCommit key (version 1) with an
// OffsetCommitValue (version 3, or 1 when the commit set its own
// retention), a GroupMetadata key (version 2) with a GroupMetadataValue
// (version 3), or a null value that deletes the key. A group's metadata is
// written when a generation's assignment arrives (SyncGroup from the
// leader: members get their assignments only once it is durable), when a
// group becomes Empty, and when a static member takes a new member id
// without a rebalance. Commits are answered only once durable. Offsets
// change only by applying durable records, the same code a load runs, so
// memory never holds an offset the log never had.
//
// A write waits for its batch to become durable for at most CommitTimeout
// (offsets.commit.timeout.ms) from its append, and fails when it does not;
// each API maps the failure to Kafka's code for it. A failed write leaves
// the state as it was before it, but one that failed after its append (it
// timed out, or the ISR shrank below min.insync.replicas) still has its
// records in the log, which may become durable later: until the next load
// the log is then ahead of memory, which misses such a commit's offsets
// (as Kafka's classic coordinator does) and still holds the offsets such
// a deletion removed (Kafka's drops them at once: it writes deletions
// without waiting for them).
//
// Load replays a partition: the last value of each key wins, tombstones
// delete. A group with members comes back Stable with fresh sessions, one
// without is Empty; undecodable records are skipped with a warning.
//
// # Who owns what
//
// The Coordinator wraps the shards. One mutex guards them and the table
// of waiting requests; it is never held while a request waits for its
// reply or while a batch is appended. Each loaded partition has a writer
// goroutine that appends its writes in order, coalescing the ones queued
// together into one batch, through the broker's Log; one timer goroutine
// ticks the shards when their earliest timer is due. Close stops both;
// Unload stops a partition's writer. Stats, Committed and Ready are
// read-only views for metrics and readiness: they copy under the mutex
// and return, calling nothing while they hold it. The broker owns the
// Log, decides which partitions to Load and Unload (leadership of
// __consumer_offsets), and validates what the coordinator does not
// (topics of a commit).
package group
