package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// A producer snapshot, <offset>.snapshot in the partition directory, holds
// the producer state as of offset (every batch below it applied). It is
// Kafka's ProducerSnapshot layout (storage-records/ProducerSnapshot.json)
// with one extension, marked by version 2: Kafka's version 1 keeps only a
// producer's newest batch, which is not enough to recognise the retry of
// an older one after a restart, so each entry is followed by the
// producer's older batches.
//
//	version  int16 (2; 1 is read too)
//	crc      uint32  CRC-32C of everything after it
//	count    int32   entries
//	entries: producer_id int64, epoch int16, last_sequence int32,
//	         last_offset int64, offset_delta int32, timestamp int64,
//	         coordinator_epoch int32 (-1), current_txn_first_offset int64 (-1)
//	         [version 2] older int8, then per older batch, oldest first:
//	         last_sequence int32, last_offset int64, offset_delta int32, timestamp int64
//
// The newest batch's fields are Kafka's; the entry's timestamp is when the
// producer last appended (it expires producer.id.expiration.ms later) and
// each older batch carries its own max timestamp.

const (
	snapshotSuffix       = ".snapshot"
	snapshotVersion      = 2
	snapshotHeaderLen    = 2 + 4 + 4
	snapshotEntryLen     = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
	snapshotOlderLen     = 4 + 8 + 4 + 8
	maxSnapshotProducers = 1 << 24 // bounds the allocation a count may ask for
	// maxSnapshotBytes bounds what is read of a snapshot file: the largest
	// a snapshot of maxSnapshotProducers full windows can be.
	maxSnapshotBytes = snapshotHeaderLen + maxSnapshotProducers*(snapshotEntryLen+1+(producerWindow-1)*snapshotOlderLen)
)

var errBadSnapshot = errors.New("storage: bad producer snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeSnapshot returns ps in the snapshot format.
func encodeSnapshot(ps *producerState) []byte {
	ids := ps.ids()
	b := make([]byte, snapshotHeaderLen, snapshotHeaderLen+len(ids)*(snapshotEntryLen+1+4*snapshotOlderLen))
	be := binary.BigEndian
	be.PutUint16(b, snapshotVersion)
	be.PutUint32(b[6:], uint32(len(ids)))
	for _, id := range ids {
		e := ps.producers[id]
		newest := e.last()
		b = be.AppendUint64(b, uint64(id))
		b = be.AppendUint16(b, uint16(e.epoch))
		b = be.AppendUint32(b, uint32(newest.lastSeq))
		b = be.AppendUint64(b, uint64(newest.lastOffset))
		b = be.AppendUint32(b, uint32(newest.lastOffset-newest.firstOffset))
		b = be.AppendUint64(b, uint64(e.lastAppend))
		b = be.AppendUint32(b, 0xffffffff)         // coordinator epoch: none
		b = be.AppendUint64(b, 0xffffffffffffffff) // no open transaction
		b = append(b, byte(e.n-1))
		for i := 0; i < e.n-1; i++ {
			o := &e.batches[i]
			b = be.AppendUint32(b, uint32(o.lastSeq))
			b = be.AppendUint64(b, uint64(o.lastOffset))
			b = be.AppendUint32(b, uint32(o.lastOffset-o.firstOffset))
			b = be.AppendUint64(b, uint64(o.timestamp))
		}
	}
	be.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// decodeSnapshot parses a snapshot; any inconsistency is errBadSnapshot.
func decodeSnapshot(b []byte) (*producerState, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", errBadSnapshot, fmt.Sprintf(format, a...))
	}
	if len(b) < snapshotHeaderLen {
		return nil, bad("%d bytes", len(b))
	}
	be := binary.BigEndian
	version := int16(be.Uint16(b))
	if version != 1 && version != 2 {
		return nil, bad("version %d", version)
	}
	if crc := crc32.Checksum(b[6:], castagnoli); crc != be.Uint32(b[2:]) {
		return nil, bad("crc %08x, stored %08x", crc, be.Uint32(b[2:]))
	}
	count := int32(be.Uint32(b[6:]))
	if count < 0 || count > maxSnapshotProducers || int(count)*snapshotEntryLen > len(b) {
		return nil, bad("%d entries in %d bytes", count, len(b))
	}
	ps := &producerState{producers: make(map[int64]*producerEntry, count)}
	p := b[snapshotHeaderLen:]
	for i := int32(0); i < count; i++ {
		if len(p) < snapshotEntryLen {
			return nil, bad("entry %d truncated", i)
		}
		id := int64(be.Uint64(p))
		e := &producerEntry{epoch: int16(be.Uint16(p[8:])), lastAppend: int64(be.Uint64(p[26:]))}
		newest := batchFromSnapshot(int32(be.Uint32(p[10:])), int64(be.Uint64(p[14:])), int32(be.Uint32(p[22:])), e.lastAppend)
		p = p[snapshotEntryLen:]
		if version == 2 {
			if len(p) < 1 {
				return nil, bad("entry %d truncated", i)
			}
			older := int(p[0])
			p = p[1:]
			if older >= producerWindow || len(p) < older*snapshotOlderLen {
				return nil, bad("entry %d: %d older batches", i, older)
			}
			for j := 0; j < older; j++ {
				e.add(batchFromSnapshot(int32(be.Uint32(p)), int64(be.Uint64(p[4:])), int32(be.Uint32(p[12:])), int64(be.Uint64(p[16:]))))
				p = p[snapshotOlderLen:]
			}
		}
		e.add(newest)
		if _, dup := ps.producers[id]; dup || id < 0 {
			return nil, bad("producer %d listed twice or negative", id)
		}
		ps.producers[id] = e
	}
	if len(p) != 0 {
		return nil, bad("%d trailing bytes", len(p))
	}
	return ps, nil
}

// batchFromSnapshot rebuilds a batch from its last sequence and offset and
// its offset delta (records - 1).
func batchFromSnapshot(lastSeq int32, lastOffset int64, delta int32, ts int64) producerBatch {
	first := int64(lastSeq) - int64(delta)
	if first < 0 {
		first += 1 << 31 // wrapped past MaxInt32
	}
	return producerBatch{firstSeq: int32(first), lastSeq: lastSeq, firstOffset: lastOffset - int64(delta), lastOffset: lastOffset, timestamp: ts}
}

// snapshotName is the snapshot file of offset in dir.
func snapshotName(fsys vfs.FS, dir string, offset int64) string {
	return fsys.PathJoin(dir, fmt.Sprintf("%020d%s", offset, snapshotSuffix))
}

// listSnapshots returns the offsets of the snapshot files in dir, sorted.
func listSnapshots(fsys vfs.FS, dir string) ([]int64, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name, snapshotSuffix)
		if !ok || e.IsDir || len(name) != 20 {
			continue
		}
		if off, err := strconv.ParseInt(name, 10, 64); err == nil && off >= 0 {
			out = append(out, off)
		}
	}
	slices.Sort(out)
	return out, nil
}
