// Package record reads, checks and writes Kafka record batches in the v2
// format (magic 2), the only format Sluice accepts on produce and keeps in
// its logs.
//
// # Model
//
// A batch is a 61 byte header followed by its records, which may be
// compressed as one stream. Batches are stored and sent back to back with
// no framing other than their own length field: a produce request's records
// field and a segment file are both "batch, batch, batch...".
//
//	offset  size  field                 notes
//	     0     8  BaseOffset            \ outside the CRC; the broker
//	     8     4  BatchLength           | rewrites BaseOffset and the
//	    12     4  PartitionLeaderEpoch  / epoch in place
//	    16     1  Magic                 2 (0 and 1 are the legacy format)
//	    17     4  CRC                   CRC-32C of bytes 21..end
//	    21     2  Attributes      ----+ <- CRC coverage starts here
//	    23     4  LastOffsetDelta     |   bits 0-2 codec, 3 timestamp type,
//	    27     8  BaseTimestamp       |   4 transactional, 5 control,
//	    35     8  MaxTimestamp        |   6 delete horizon
//	    43     8  ProducerID          |
//	    51     2  ProducerEpoch       |
//	    53     4  BaseSequence        |
//	    57     4  NumRecords          |
//	    61     -  Records         ----+ <- to 12 + BatchLength
//
//	BatchLength counts bytes from offset 12 to the end, so a batch occupies
//	12 + BatchLength bytes and BatchLength >= 49 (a header, no records).
//
// The same layout as byte ranges (not to scale):
//
//	0        8     12     16 17    21   23     27       35       43
//	+--------+------+------+-+------+----+------+--------+--------+
//	|BaseOff |BatLen|LdrEp |M| CRC  |Attr|LastOD|BaseTS  |MaxTS   |
//	+--------+------+------+-+------+----+------+--------+--------+
//	                                ^ the CRC covers from here to the end
//	43       51   53     57     61
//	+--------+----+------+------+---------------------------------+
//	|ProdID  |PEp |BaseSq|NumRec| records (maybe compressed) ...  |
//	+--------+----+------+------+---------------------------------+
//
// Each record, after decompression, is
//
//	length varint | attributes int8 | timestampDelta varlong |
//	offsetDelta varint | keyLen varint | key | valueLen varint | value |
//	headerCount varint | headerCount x (keyLen varint | key |
//	valueLen varint | value)
//
// where varints are zig-zag base-128 and a length of -1 means null.
//
// # Pieces
//
//   - ParseHeader, BatchHeader, Attributes: the fixed header.
//   - BatchSize and Batches: framing over concatenated batches, with a torn
//     tail (ErrTruncated) told apart from corruption.
//   - Validate: one batch end to end (framing, CRC, header, every record),
//     returning a Summary of what a broker checks per record.
//   - CheckReplicated: what a follower checks of a batch its leader
//     validated (framing, CRC, header), without reading the records.
//   - Records: an allocation-free record iterator; compressed batches are
//     streamed through pooled decompressors, within a decompression bound.
//   - Builder: writes batches, compressed or not.
//   - SetBaseOffset, SetPartitionLeaderEpoch, UpdateCRC: in-place rewrites.
//
// # Errors
//
// Failures are one of: ErrTruncated (bytes end mid-batch), ErrLegacyFormat
// (magic 0 or 1), ErrUnsupportedCompression (codec 5-7), ErrDecompressLimit
// (the bound in Options), or a *CorruptError whose Kind says which layer is
// wrong; errors.Is(err, ErrCorrupt) matches any *CorruptError.
//
// # Compression
//
// gzip, snappy, lz4 (frame format) and zstd are read as streams. Snappy is
// read both as a raw block and in the xerial framing that Kafka's Java
// client writes; the Builder writes xerial framing, as the Java client and
// franz-go do. Decompression is bounded by Options.MaxDecompressedBytes
// (DefaultMaxDecompressedBytes, 64 MiB, when zero). Our buffers grow with
// the bytes actually decompressed, never with a length an input claims (a
// raw snappy block is decoded whole, after its claimed size is checked
// against the bound and against what its compressed size can expand to).
// The codecs keep fixed state of their own; the one sized by a claim is the
// zstd window, which is capped by the bound rounded up to a power of two
// and clamped to [8 MiB, 128 MiB] (see decompress.go).
package record
