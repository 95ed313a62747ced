package controller

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// The raft log on disk: one file of framed records, appended and fsynced
// before raft's messages are sent.
//
//	record: crc32c uint32 | length uint32 | type uint8 | payload (length bytes)
//	        (the CRC covers type and payload)
//	types:  1 entry      a raftpb.Entry; a later entry at an index at or
//	                     below the last one replaces the tail from there
//	        2 hard state a raftpb.HardState; the last one wins
//
// A torn or corrupt record ends the file: everything after it was never
// acknowledged (writes are fsynced in order before anything depends on
// them). Compaction after a snapshot rewrites the file with the entries
// above the snapshot and the hard state, atomically (write, fsync,
// rename, fsync the directory).
const (
	walFile        = "raft.log"
	walRecEntry    = 1
	walRecHard     = 2
	walHeaderLen   = 9
	maxWALRecord   = 64 << 20
	walCompactTemp = walFile + ".tmp"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// wal appends raft state to its file.
type wal struct {
	fs   vfs.FS
	dir  string
	f    vfs.File
	size int64
	buf  []byte
}

// walState is what a wal holds after replay.
type walState struct {
	hard    *pb.HardState
	entries []*pb.Entry
}

// openWAL opens (creating) the wal in dir and replays it, truncating a
// torn tail.
func openWAL(fsys vfs.FS, dir string) (*wal, walState, error) {
	var st walState
	if err := vfs.MkdirAllDurable(fsys, dir); err != nil {
		return nil, st, err
	}
	path := fsys.PathJoin(dir, walFile)
	_, statErr := fsys.Stat(path)
	f, err := fsys.OpenReadWrite(path)
	if err != nil {
		return nil, st, fmt.Errorf("open raft log: %w", err)
	}
	if statErr != nil {
		if err := fsys.SyncDir(dir); err != nil {
			f.Close()
			return nil, st, err
		}
	}
	w := &wal{fs: fsys, dir: dir, f: f}
	valid, err := w.replay(&st)
	if err != nil {
		f.Close()
		return nil, st, err
	}
	if info, err := f.Stat(); err == nil && info.Size() > valid {
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return nil, st, fmt.Errorf("truncate raft log tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, st, err
		}
	}
	w.size = valid
	return w, st, nil
}

// errWALCorrupt: a bad record with valid records after it. That is not a
// torn tail (writes are fsynced in order), so nothing may be truncated.
var errWALCorrupt = errors.New("raft log is corrupt: a damaged record is followed by valid ones")

// replay reads records until the end or the first bad one and returns the
// length of the valid prefix. A bad record is a torn tail only if no
// valid record follows it; otherwise replay fails with errWALCorrupt.
func (w *wal) replay(st *walState) (int64, error) {
	valid, err := w.replayPrefix(st)
	if err != nil {
		return 0, err
	}
	if w.validRecordAfter(valid) {
		return 0, fmt.Errorf("%w (at byte %d)", errWALCorrupt, valid)
	}
	return valid, nil
}

// validRecordAfter reports whether a well-formed record (CRC and type
// check) starts anywhere after pos.
func (w *wal) validRecordAfter(pos int64) bool {
	info, err := w.f.Stat()
	if err != nil {
		return false
	}
	data := make([]byte, max(info.Size()-pos, 0))
	if _, err := w.f.ReadAt(data, pos); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	for p := 1; p+walHeaderLen <= len(data); p++ {
		typ := data[p+8]
		if typ != walRecEntry && typ != walRecHard {
			continue
		}
		n := int(binary.BigEndian.Uint32(data[p+4:]))
		if n > len(data)-p-walHeaderLen {
			continue
		}
		payload := data[p+walHeaderLen : p+walHeaderLen+n]
		if crc32.Update(crc32.Checksum(data[p+8:p+9], crcTable), crcTable, payload) == binary.BigEndian.Uint32(data[p:]) {
			return true
		}
	}
	return false
}

// replayPrefix reads records until the end or the first bad one.
func (w *wal) replayPrefix(st *walState) (int64, error) {
	var hdr [walHeaderLen]byte
	var pos int64
	for {
		if _, err := w.f.ReadAt(hdr[:], pos); err != nil {
			if errors.Is(err, io.EOF) {
				return pos, nil
			}
			return 0, fmt.Errorf("read raft log: %w", err)
		}
		sum := binary.BigEndian.Uint32(hdr[0:])
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > maxWALRecord {
			return pos, nil
		}
		payload := make([]byte, n)
		if _, err := w.f.ReadAt(payload, pos+walHeaderLen); err != nil {
			if errors.Is(err, io.EOF) {
				return pos, nil
			}
			return 0, fmt.Errorf("read raft log: %w", err)
		}
		crc := crc32.Update(crc32.Checksum(hdr[8:9], crcTable), crcTable, payload)
		if crc != sum {
			return pos, nil
		}
		switch hdr[8] {
		case walRecEntry:
			e := &pb.Entry{}
			if err := proto.Unmarshal(payload, e); err != nil {
				return pos, nil
			}
			st.entries = appendEntry(st.entries, e)
		case walRecHard:
			h := &pb.HardState{}
			if err := proto.Unmarshal(payload, h); err != nil {
				return pos, nil
			}
			st.hard = h
		default:
			return pos, nil
		}
		pos += walHeaderLen + int64(n)
	}
}

// appendEntry adds e to a replayed list, replacing any tail it overwrites.
func appendEntry(ents []*pb.Entry, e *pb.Entry) []*pb.Entry {
	for len(ents) > 0 && ents[len(ents)-1].GetIndex() >= e.GetIndex() {
		ents = ents[:len(ents)-1]
	}
	return append(ents, e)
}

func (w *wal) record(typ byte, m proto.Message) error {
	payload, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	var hdr [walHeaderLen]byte
	hdr[8] = typ
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(hdr[0:], crc32.Update(crc32.Checksum(hdr[8:9], crcTable), crcTable, payload))
	w.buf = append(append(w.buf, hdr[:]...), payload...)
	return nil
}

// encode fills w.buf with records for entries and, when set, the hard
// state.
func (w *wal) encode(hard *pb.HardState, entries []*pb.Entry) error {
	w.buf = w.buf[:0]
	for _, e := range entries {
		if err := w.record(walRecEntry, e); err != nil {
			return err
		}
	}
	if hard != nil {
		return w.record(walRecHard, hard)
	}
	return nil
}

// save appends entries and the hard state (when set) and fsyncs them.
func (w *wal) save(hard *pb.HardState, entries []*pb.Entry) error {
	if err := w.encode(hard, entries); err != nil || len(w.buf) == 0 {
		return err
	}
	if _, err := w.f.WriteAt(w.buf, w.size); err != nil {
		return fmt.Errorf("write raft log: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync raft log: %w", err)
	}
	w.size += int64(len(w.buf))
	return nil
}

// compact rewrites the log with only hard and entries (those above the
// latest snapshot), atomically.
func (w *wal) compact(hard *pb.HardState, entries []*pb.Entry) error {
	if err := w.encode(hard, entries); err != nil {
		return err
	}
	tmp := w.fs.PathJoin(w.dir, walCompactTemp)
	f, err := w.fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(w.buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := w.fs.Rename(tmp, w.fs.PathJoin(w.dir, walFile)); err != nil {
		f.Close()
		return err
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f.Close()
	w.f = f
	w.size = int64(len(w.buf))
	return nil
}

func (w *wal) close() error { return w.f.Close() }
