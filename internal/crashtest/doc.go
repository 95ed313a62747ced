// Package crashtest holds tests that crash real sluice processes: they
// build the binary, run it, kill it with SIGKILL under load, restart it
// from the same data directory and check what clients were told against
// what the broker serves.
package crashtest
