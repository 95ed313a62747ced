// Package admin carries out the operator's commands (sluice topic,
// group and cluster …)
// over the Kafka protocol, so they work against Sluice and Kafka alike.
// Each operation takes a connected client and returns plain values; the
// command line renders them as tables (Table) or JSON. Errors name what
// failed and, when no broker answered, the addresses tried.
package admin
