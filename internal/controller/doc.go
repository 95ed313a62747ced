// Package controller is the metadata quorum: each voter runs one event
// loop around go.etcd.io/raft/v3's RawNode (PreVote and CheckQuorum on)
// that replicates a log of metadata records, and applies the committed
// ones to an immutable metadata.Image — the only state brokers read.
//
// The loop owns the clock (Tick), inbound messages (Step) and commands.
// For each Ready it writes the raft log entries and hard state to the WAL
// and fsyncs them before sending raft's messages, then applies committed
// entries to the image, answers the commands whose entries they are, and
// advances raft. Every SnapshotEvery applied entries the image is written
// as a snapshot (the records that rebuild it) and the WAL is rewritten
// without the entries it covers; a lagging voter receives the snapshot.
//
// A Command runs on the loop against the latest image, including changes
// proposed but not yet committed, so commands see each other's effects
// in order; it returns records to commit atomically (one raft entry) and a
// reply. Submit returns once the entry is committed and applied, with the
// image offset (the raft index) that holds it; on a voter that is not the
// leader it fails with ErrNotController, and during an election it waits
// for the outcome.
//
// Membership is fixed: the voters of controller.quorum.voters bootstrap
// the raft log the first time a directory is used. Transports carry raft
// messages between voters, and commands a voter forwards to the active
// controller (Execute; commands carry their name and arguments, see
// command.go): MemNetwork for tests (with partitions, loss and delay) and
// TCPTransport on the controller listener.
//
// The active controller keeps broker sessions in memory (sessions.go):
// a broker silent for the session timeout is fenced, and fencing, a
// re-registration with a new incarnation and unfencing move partition
// leaderships (commands_leaders.go).
//
// On disk (metadata.log.dir):
//
//	raft.log   framed raftpb entries and hard states (see wal.go)
//	snapshot   the latest raftpb.Snapshot, its data the image as records
package controller
