// Package node wires one Sluice process: the log directory, the metadata
// controller, the replica manager that follows the controller's image,
// the request handlers and the client listener. It is the only package
// that sees every other; cmd/sluice reaches it through internal/cli.
//
// A node today is a combined broker and controller with a single voter
// (Sluice's embedded default). It formats a fresh single-node data
// directory on first start, registers itself with its controller,
// unfences, and serves clients until Shutdown, which stops accepting,
// finishes in-flight requests, and closes the logs cleanly (so the next
// start does not need recovery).
package node
