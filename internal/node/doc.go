// Package node wires one Sluice process: the log directory, the metadata
// controller, the replica manager that follows the controller's image,
// the request handlers and the client listener. It is the only package
// that sees every other; cmd/sluice reaches it through internal/cli.
//
// A node today is a combined broker and controller: the single voter of
// Sluice's embedded default, or one of several voters whose quorum runs
// over the controller listener (controller.TCPTransport). A single node
// formats a fresh data directory on first start; a cluster's nodes are
// formatted by sluice format. A node registers its broker with the active
// controller (its own voter, or another one the command is forwarded to),
// is unfenced once its metadata has caught up, heartbeats every
// broker.heartbeat.interval.ms (heartbeat.go), and serves clients until
// Shutdown, which fences the broker in a cluster (controlled shutdown),
// stops accepting, finishes in-flight requests, and closes the logs
// cleanly (so the next start does not need recovery).
package node
