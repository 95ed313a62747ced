// Package storage is Sluice's partition log: Kafka's on-disk format,
// durable appends with group commit, reads as file ranges, crash recovery,
// truncation and retention, and the log directory that holds the logs.
//
// # On disk
//
//	<log dir>/
//	  meta.properties                    cluster.id, node.id, directory.id (a node refuses a mismatch)
//	  .lock                              held while a process owns the directory
//	  .kafka_cleanshutdown               present only after a clean shutdown
//	  recovery-point-offset-checkpoint   "0\n<n>\n<topic> <partition> <offset>\n…"
//	  log-start-offset-checkpoint
//	  replication-offset-checkpoint      high watermarks, written by the replica layer
//	  cleaner-offset-checkpoint          how far compaction got in each compacted log
//	  <topic>-<partition>/
//	    partition.metadata               "version: 0\ntopic_id: <uuid>\n"
//	    leader-epoch-checkpoint          "0\n<n>\n<epoch> <start offset>\n…"
//	    00000000000000000000.log         v2 record batches as produced, offsets assigned
//	    00000000000000000000.index       8-byte entries: relative offset int32, position int32
//	    00000000000000000000.timeindex   12-byte entries: max timestamp int64, relative offset int32
//	    00000000000000001234.log         the next segment, base offset 1234 …
//	  <topic>-<partition>.<id>-delete/   a deleted partition, removed in the background
//
// Checkpoint files are replaced atomically: write a temporary file, fsync
// it, rename it over the old one, fsync the directory. Segment files of
// deleted segments are renamed to *.deleted and removed after
// file.delete.delay.ms.
//
// # Writing
//
// A Log has one writer at a time (its mutex). Append validates every batch
// before taking the lock (CRC-32C, framing, records, timestamps, keys on
// compacted topics; compressed batches are decompressed as a stream),
// then assigns offsets and the leader epoch in place — fields outside the
// CRC — and writes the request's batches with one write to the active
// segment, rolling it first when segment.bytes, segment.ms or a full index
// calls for it. Readers never take the writer's lock: they see an
// immutable list of segments and each segment's published size.
//
// # Durability
//
// In the durable mode (flush.messages=1, Sluice's default), an append is
// acknowledged only once WaitDurable returns: a sync has fdatasynced the
// segment (and fsynced the partition directory after a segment or the
// directory was created). One sync covers every append made before it, so
// concurrent producers share fsyncs (group commit), and a bounded pool of
// goroutines (Flusher) syncs different partitions at once. A large append
// starts its own writeback as it returns (sync_file_range), so the disk
// is already writing it when the flusher's fdatasync comes to wait for
// it. A failed fsync
// takes the log offline for good (ErrStorage); it is never retried, since
// Linux may have dropped the dirty pages. In page-cache mode
// (flush.messages > 1) acknowledgements do not wait; the log is synced
// every flush.messages messages or flush.ms.
//
// # Recovery
//
// The recovery point is the offset below which every segment and index is
// synced; it moves when a rolled segment's sync completes and is
// checkpointed by the Manager. After an unclean shutdown every segment
// from the recovery point on is scanned: each batch's framing, CRC and
// offsets are checked, its indexes and leader epochs are rebuilt, and the
// first bad batch ends the log whatever follows it, as in Kafka: the
// segment is truncated there and every later segment removed, the leader
// epochs and producer snapshots past the new end dropped, and the
// cleaner's checkpoint lowered to it. Those segments may hold writes no
// sync covered, which a power loss can keep in any order, so a bad batch
// there may have valid data after it. A torn write (nothing valid after
// it) is logged at Warn; a cut with valid data after the bad batch at
// Error, and counted (CorruptionsDetected). Below the recovery point every
// segment was synced whole; it is scanned only when its indexes fail (or
// a cleaner swap is completed), and a bad batch there with data after it
// is damage to acknowledged data: the log refuses to open with a
// *CorruptionError, logged at Error and counted, and nothing is
// truncated. After a clean shutdown every segment counts as synced whole;
// logs open without reading their data: the indexes are loaded and only
// the bytes after the last index entry are read.
//
// # Reading
//
// Read returns a byte range of one segment file — whole batches from the
// one holding the requested offset, the first one whole even when it
// exceeds the byte limit (KIP-74), stopping before the high watermark —
// so the server can send it with sendfile. Lookups use the sparse offset
// index and a short scan of batch headers.
//
// # Compaction
//
// The Manager's cleaner threads (cleaner.go) take, one log at a time, the
// compacted log with the highest dirty ratio over min.cleanable.dirty.ratio
// (or one past max.compaction.lag.ms). planClean, a pure function, decides
// what a pass may touch: whole segments below the active one, the high
// watermark, the recovery point and min.compaction.lag.ms. A pass
// (log_clean.go) indexes each key's latest offset in an offsetMap
// (compact_map.go) from the checkpointed first dirty offset until the map
// is full or the range ends, then rewrites every segment below that point
// with compactBatches (compact_batch.go), in groups that each become one
// segment. swapCleaned (log_swap.go) replaces a group crash-safely: the
// cleaned files go from .cleaned to .swap names (the commit point, once the
// directory is synced), the old files to .deleted, the .swap files to their
// names; on open, completeSwaps finishes a committed swap and loadSegments
// drops an uncommitted one. A pass reads segments through their shared
// read handles, so appends and fetches go on; it gives up if the log was
// truncated, had segments deleted or closed meanwhile (Log.gen).
//
// # Files held open
//
// A log holds its active segment's file and index files open for writing,
// and a read handle per segment while it is being read. CloseIdle (run by
// the Manager's maintenance) closes both once a partition has been idle,
// so a thousand quiet partitions hold no descriptors and no goroutines: the
// Manager runs one background goroutine and one flusher pool per
// directory.
package storage
