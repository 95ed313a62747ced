package controller

import (
	"errors"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/vfs"
)

func u64(v uint64) *uint64 { return &v }

func writeWAL(t *testing.T, fsys vfs.FS, hard *pb.HardState, ents ...*pb.Entry) []byte {
	t.Helper()
	w, _, err := openWAL(fsys, "/meta")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.save(hard, ents); err != nil {
		t.Fatal(err)
	}
	w.close()
	data, err := vfs.ReadFile(fsys, "/meta/"+walFile)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func rewrite(t *testing.T, fsys vfs.FS, data []byte) {
	t.Helper()
	f, err := fsys.Create("/meta/" + walFile)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Close()
}

func entry(i uint64) *pb.Entry {
	return &pb.Entry{Term: u64(1), Index: u64(i), Data: []byte("entry-data")}
}

// TestWALTornTailTruncated: bytes cut off the end are a torn write: the
// log keeps every whole record before them.
func TestWALTornTailTruncated(t *testing.T) {
	fsys := vfs.NewMem()
	data := writeWAL(t, fsys, &pb.HardState{Term: u64(1), Commit: u64(2)}, entry(1), entry(2), entry(3))
	rewrite(t, fsys, data[:len(data)-5])
	w, st, err := openWAL(fsys, "/meta")
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if len(st.entries) != 3 || st.hard != nil {
		t.Fatalf("after a torn tail: %d entries, hard state %v", len(st.entries), st.hard)
	}
}

// TestWALCorruptionRefused: a damaged record followed by valid ones is
// corruption, not a torn write: the log must not be truncated.
func TestWALCorruptionRefused(t *testing.T) {
	fsys := vfs.NewMem()
	data := writeWAL(t, fsys, &pb.HardState{Term: u64(1), Commit: u64(3)}, entry(1), entry(2), entry(3))
	data[walHeaderLen+2] ^= 0xff // inside the first record's payload
	rewrite(t, fsys, data)
	if _, _, err := openWAL(fsys, "/meta"); !errors.Is(err, errWALCorrupt) {
		t.Fatalf("open: %v, want errWALCorrupt", err)
	}
	if got, _ := vfs.ReadFile(fsys, "/meta/"+walFile); len(got) != len(data) {
		t.Fatalf("the corrupt log was truncated from %d to %d bytes", len(data), len(got))
	}
}

// TestOpenAfterCrashDuringSnapshotInstall: a crash after a received
// snapshot was saved but before the new hard state reached the log leaves
// the log's commit below the snapshot; the node must still start.
func TestOpenAfterCrashDuringSnapshotInstall(t *testing.T) {
	fsys := vfs.NewMem()
	img, err := (&metadata.Image{}).Apply(10, nil)
	if err != nil {
		t.Fatal(err)
	}
	snaps := &snapshotter{fs: fsys, dir: "/meta"}
	if err := vfs.MkdirAllDurable(fsys, "/meta"); err != nil {
		t.Fatal(err)
	}
	if err := snaps.save(&pb.Snapshot{Data: encodeImage(img), Metadata: &pb.SnapshotMetadata{Index: u64(10), Term: u64(2),
		ConfState: &pb.ConfState{Voters: []uint64{1}}}}); err != nil {
		t.Fatal(err)
	}
	writeWAL(t, fsys, &pb.HardState{Term: u64(1), Commit: u64(3), Vote: u64(1)})
	c, err := Open(Config{NodeID: 1, Voters: []uint64{1}, FS: fsys, Dir: "/meta"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Image().Offset != 10 {
		t.Fatalf("image offset %d, want the snapshot's 10", c.Image().Offset)
	}
}
