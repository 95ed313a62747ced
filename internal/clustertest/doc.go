// Package clustertest runs clusters of whole Sluice nodes in one process:
// each node has its files on its own crashable in-memory file system
// (vfs.MemFS) and its metadata quorum traffic on a shared in-memory
// network (controller.MemNetwork) that can partition, delay and drop;
// clients reach the nodes over loopback. Crash cuts a node's power: it is
// isolated, its file system cloned as a power loss leaves it (un-synced
// writes dropped), and it restarts on the clone.
//
// Scenarios are seeded: a seed drives the faults and the operations, and
// every failure names its seed, so `go test -run 'Scenarios/seed=N'`
// replays it. Waiting is on conditions, never on fixed sleeps.
package clustertest
