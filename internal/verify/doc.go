// Package verify is `sluice verify`: it runs producers and consumers
// against a broker, or a cluster of them (each node in its own network
// namespace, so that a partition is real), while faults are injected
// (kill -9, pauses, partitions of one node at a time), records
// what every client saw as a History, and checks that history for the
// anomaly classes of the established Kafka queue analysis. The workload
// and the fault injector live in this package too; Check, the checker,
// is pure: it reads a History, does no I/O and gives the same Result for
// the same History.
//
// # The history
//
// Values are unique over a run: a value names the one send that carried
// it. Producers are idempotent and use acks=all. A Send ends in one of
// three statuses:
//
//   - ok: acknowledged at a partition and offset;
//   - failed: the broker answered with a definite error, the record was
//     not written;
//   - indeterminate: a timeout or a cut connection; the record may or may
//     not be in the log.
//
// Consumers read assigned partitions, or subscribe as members of one
// consumer group (a new session at every assignment change, without an
// Assignment, since a handed-over partition resumes from its committed
// offset). Each Poll is one batch as the client delivered it; Session numbers a consumer's (re)starts, and an Assignment
// gives each session's partitions and the offset it starts from (-1: the
// log start). A session with no Assignment for a partition (a consumer
// group member resuming from a committed offset, say) is checked for
// order and gaps but not for where it started. After the faults stop, the
// final read reads every partition from its log start FinalStart[p] to
// its log end FinalEnd[p]. Faults lists the fault events with the time
// each began and the time the broker served again.
//
// A position is a (partition, offset) pair. Observations of positions
// come from three sources: an ok send's acknowledgement, the final read,
// and the records consumers polled. A value was written if it was
// acknowledged or read by anyone.
//
// # Anomaly classes
//
// Each class has a count, in the unit given in parentheses, and up to
// CheckOptions.Examples example descriptions naming the value, partition
// and offset. The names are those of the JSON report and the table.
//
//   - lost (one per value): an ok send acknowledged at (p, o) whose value
//     is nowhere in the final read although the final read covered o
//     (FinalStart[p] <= o < FinalEnd[p]). Also the value of an ok or
//     indeterminate send that a consumer read at (p, o), o covered by the
//     final read, and that is nowhere in the final read. A value the final
//     read has at another position is not lost: see inconsistent_offsets
//     and duplicates.
//   - unseen (one per value): as lost, but with o >= FinalEnd[p]: an
//     offset was acknowledged (or read) that the final read never
//     reached, so the log end went back below it: the broker lost the
//     tail of the log.
//   - duplicates (one per value): a value at more than one position in
//     the final read and the polls together.
//   - inconsistent_offsets (one per position): a position observed with
//     two different values (acknowledgements, the final read and polls,
//     in any combination), or the acknowledged position of an ok send
//     whose value the final read has only at another position.
//   - nonmonotonic_sends (one per send): for one producer and one
//     partition, taking its ok sends in increasing Seq order, a send whose
//     offset is not above the offset of every earlier one.
//   - nonmonotonic_polls (one per delivered record): for one consumer
//     session and one partition, taking its polls in order of Poll.At
//     (ties in history order) and each poll's records in slice order, a
//     record whose offset is not above every offset the session delivered
//     before for that partition. A redelivery is one.
//   - poll_skips (one per skipped record and session):
//     when a session delivers offset b above every offset a it delivered
//     before for the partition (a being the highest), each record of the
//     final read with a < offset < b; and, for the first record the
//     session delivers for a partition, at offset b, each record of the
//     final read with s <= offset < b, s being the session's assigned
//     start offset (-1 standing for FinalStart[p]). The final read holds
//     no records below FinalStart, so records that retention removed
//     after a consumer started are never counted. A session without an
//     Assignment for the partition has no first-record check.
//   - unexpected_values (one per value): a value in the final read or a
//     poll that no send carried, or whose send failed.
//
// An ok send acknowledged below FinalStart[p] whose value the final read
// does not have was removed by retention or DeleteRecords: it is counted
// as below_log_start, which is information, not an anomaly. So are the
// per-status send counts, how many indeterminate sends were found (in the
// final read or a poll) and how many were not, the records in the final
// read, the polls and the records polled.
//
// A history that breaks the model (two sends with one value, a status
// other than the three, an ok send with a negative offset, acknowledged
// sends to a partition the final read did not bound) is reported as
// invalid, and fails the check.
//
// # Vacuity
//
// A check that passes proves little if the faults never bit. For each
// fault kind Result.Faults gives the number of events and the number of
// sends, indeterminate or failed, whose [Sent, Done] interval (just Sent
// if Done is unset) overlaps an event window [Start, End+FaultGrace] of
// that kind, FaultGrace being 5 s. The result is
// vacuous if no send was acknowledged, if faults were injected but no
// send was indeterminate or failed during any of their windows, or if
// there were no fault events and CheckOptions.RequireFaults is set (a run
// configured with no faults checks with RequireFaults off).
//
// Result.OK holds when there is no anomaly, the history is valid and the
// result is not vacuous. WriteTable prints a result for people and
// WriteJSON for programs; WriteHistory and ReadHistory store a history
// (JSON lines, see WriteHistory) so that it can be checked again offline.
package verify
