// Package cli implements the sluice command line: it parses arguments,
// builds the components a subcommand needs and runs them until done or
// interrupted. It holds no broker logic of its own; cmd/sluice only calls
// Main.
package cli
