package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/internal/vfs"
	"pgregory.net/rapid"
)

// ---------------------------------------------------------------------------
// Helpers shared with epoch_test.go.

// ckptHookFS calls hook after every FS or File operation that
// WriteFileAtomic performs (create, write, sync, close, rename, remove,
// syncdir), so a test can simulate a crash after each step.
type ckptHookFS struct {
	vfs.FS
	hook func(step string)
}

type ckptHookFile struct {
	vfs.File
	h    *ckptHookFS
	name string
}

func (h *ckptHookFS) Create(name string) (vfs.File, error) {
	f, err := h.FS.Create(name)
	h.hook("create " + name)
	if err != nil {
		return nil, err
	}
	return &ckptHookFile{File: f, h: h, name: name}, nil
}

func (h *ckptHookFS) Rename(oldname, newname string) error {
	err := h.FS.Rename(oldname, newname)
	h.hook("rename " + oldname)
	return err
}

func (h *ckptHookFS) Remove(name string) error {
	err := h.FS.Remove(name)
	h.hook("remove " + name)
	return err
}

func (h *ckptHookFS) SyncDir(dir string) error {
	err := h.FS.SyncDir(dir)
	h.hook("syncdir " + dir)
	return err
}

func (f *ckptHookFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.h.hook("write " + f.name)
	return n, err
}

func (f *ckptHookFile) Sync() error {
	err := f.File.Sync()
	f.h.hook("sync " + f.name)
	return err
}

func (f *ckptHookFile) Close() error {
	err := f.File.Close()
	f.h.hook("close " + f.name)
	return err
}

// ckptReadOpt reads name from fsys; absent files read as nil, false.
func ckptReadOpt(t *testing.T, fsys vfs.FS, name string) ([]byte, bool) {
	t.Helper()
	data, err := vfs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data, true
}

func ckptMustWrite(t *testing.T, fsys vfs.FS, name string, data string) {
	t.Helper()
	if err := fsys.MkdirAll(fsys.PathDir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func ckptWantCorrupt(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want one wrapping ErrCorruptCheckpoint")
	}
	if !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("error %v does not wrap ErrCorruptCheckpoint", err)
	}
}

// ---------------------------------------------------------------------------
// Offset checkpoints.

func TestOffsetCheckpointExactBytes(t *testing.T) {
	fsys := vfs.NewMem()
	name := "/data/" + RecoveryPointCheckpointFile
	if err := fsys.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	offsets := map[TopicPartition]int64{
		{"orders", 10}:            3,
		{"orders", 2}:             1234567890123,
		{"__consumer_offsets", 0}: 0,
		{"a.b-c_d", 1}:            42,
	}
	if err := WriteOffsetCheckpoint(fsys, name, offsets); err != nil {
		t.Fatal(err)
	}
	want := "0\n4\n__consumer_offsets 0 0\na.b-c_d 1 42\norders 2 1234567890123\norders 10 3\n"
	if got, _ := ckptReadOpt(t, fsys, name); string(got) != want {
		t.Fatalf("file is %q, want %q", got, want)
	}
	if _, ok := ckptReadOpt(t, fsys, name+".tmp"); ok {
		t.Fatal("temporary file left behind")
	}
}

func TestOffsetCheckpointRoundTrip(t *testing.T) {
	fsys := vfs.NewMem()
	name := "/d/" + ReplicationOffsetCheckpointFile
	if err := fsys.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, offsets := range []map[TopicPartition]int64{
		{},
		{{"t", 0}: 0},
		{{"t", 0}: 1, {"t", 1}: 2, {"u", 2147483647}: 9223372036854775807},
	} {
		if err := WriteOffsetCheckpoint(fsys, name, offsets); err != nil {
			t.Fatal(err)
		}
		got, err := ReadOffsetCheckpoint(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != len(offsets) {
			t.Fatalf("read %v, want %v", got, offsets)
		}
		for k, v := range offsets {
			if got[k] != v {
				t.Fatalf("read %v, want %v", got, offsets)
			}
		}
	}
}

func TestOffsetCheckpointRoundTripProperty(t *testing.T) {
	topicGen := rapid.StringMatching(`[a-zA-Z0-9._-]{1,20}`).Filter(func(s string) bool { return s != "." && s != ".." })
	rapid.Check(t, func(t *rapid.T) {
		offsets := rapid.MapOf(
			rapid.Custom(func(t *rapid.T) TopicPartition {
				return TopicPartition{topicGen.Draw(t, "topic"), rapid.Int32Min(0).Draw(t, "partition")}
			}),
			rapid.Int64Min(0),
		).Draw(t, "offsets")
		fsys := vfs.NewMem()
		if err := WriteOffsetCheckpoint(fsys, "/x", offsets); err != nil {
			t.Fatal(err)
		}
		got, err := ReadOffsetCheckpoint(fsys, "/x")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(offsets) {
			t.Fatalf("read %v, want %v", got, offsets)
		}
		for k, v := range offsets {
			if g, ok := got[k]; !ok || g != v {
				t.Fatalf("read %v, want %v", got, offsets)
			}
		}
	})
}

func TestWriteOffsetCheckpointRefusesInvalid(t *testing.T) {
	fsys := vfs.NewMem()
	for _, offsets := range []map[TopicPartition]int64{
		{{"", 0}: 1},
		{{"has space", 0}: 1},
		{{"t", -1}: 1},
		{{"t", 0}: -1},
		{{"..", 0}: 1},
		{{strings.Repeat("x", 250), 0}: 1},
	} {
		if err := WriteOffsetCheckpoint(fsys, "/x", offsets); err == nil {
			t.Errorf("WriteOffsetCheckpoint(%v) succeeded", offsets)
		}
		if _, ok := ckptReadOpt(t, fsys, "/x"); ok {
			t.Fatalf("file written for invalid %v", offsets)
		}
	}
}

func TestReadOffsetCheckpointCorrupt(t *testing.T) {
	cases := []struct{ name, data string }{
		{"bad version", "1\n1\nt 0 5\n"},
		{"negative version", "-1\n0\n"},
		{"non-numeric version", "v0\n0\n"},
		{"only version", "0\n"},
		{"no trailing newline", "0\n1\nt 0 5"},
		{"count too high", "0\n2\nt 0 5\n"},
		{"count too low", "0\n1\nt 0 5\nt 1 6\n"},
		{"huge count few lines", "0\n2147483647\nt 0 5\n"},
		{"count beyond int32", "0\n99999999999999\nt 0 5\n"},
		{"negative count", "0\n-1\n"},
		{"non-numeric count", "0\nmany\nt 0 5\n"},
		{"extra field", "0\n1\nt 0 5 7\n"},
		{"missing field", "0\n1\nt 5\n"},
		{"non-numeric partition", "0\n1\nt x 5\n"},
		{"non-numeric offset", "0\n1\nt 0 five\n"},
		{"offset overflow", "0\n1\nt 0 9223372036854775808\n"},
		{"partition overflow", "0\n1\nt 2147483648 5\n"},
		{"negative offset", "0\n1\nt 0 -5\n"},
		{"negative partition", "0\n1\nt -1 5\n"},
		{"plus sign", "0\n1\nt 0 +5\n"},
		{"leading zero", "0\n1\nt 0 05\n"},
		{"duplicate", "0\n2\nt 0 5\nt 0 6\n"},
		{"double space", "0\n1\nt  0 5\n"},
		{"tab separator", "0\n1\nt\t0 5\n"},
		{"trailing space", "0\n1\nt 0 5 \n"},
		{"crlf", "0\r\n1\r\nt 0 5\r\n"},
		{"blank entry line", "0\n2\nt 0 5\n\n"},
		{"illegal topic", "0\n1\nt/x 0 5\n"},
		{"garbage", "\x00\x00\x00\x00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			ckptMustWrite(t, fsys, "/d/cp", tc.data)
			got, err := ReadOffsetCheckpoint(fsys, "/d/cp")
			if got != nil {
				t.Errorf("got entries %v", got)
			}
			ckptWantCorrupt(t, err)
		})
	}
}

func TestReadCheckpointMissingAndEmpty(t *testing.T) {
	fsys := vfs.NewMem()
	if _, err := ReadOffsetCheckpoint(fsys, "/nope"); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := ReadLeaderEpochCheckpoint(fsys, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	// Kafka creates checkpoint files empty before their first write.
	ckptMustWrite(t, fsys, "/empty", "")
	got, err := ReadOffsetCheckpoint(fsys, "/empty")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty file: %v, %v; want empty map", got, err)
	}
	// A file with no entries as written.
	ckptMustWrite(t, fsys, "/zero", "0\n0\n")
	if got, err := ReadOffsetCheckpoint(fsys, "/zero"); err != nil || len(got) != 0 {
		t.Fatalf("no entries: %v, %v", got, err)
	}
}

func TestReadCheckpointTooLarge(t *testing.T) {
	fsys := vfs.NewMem()
	// A valid prefix followed by far too much: rejected on size alone.
	big := append([]byte("0\n1\nt 0 5\n"), bytes.Repeat([]byte("x"), MaxCheckpointSize)...)
	ckptMustWrite(t, fsys, "/big", string(big))
	_, err := ReadOffsetCheckpoint(fsys, "/big")
	ckptWantCorrupt(t, err)
	// Exactly at the limit is read (and then fails only on content).
	ckptMustWrite(t, fsys, "/limit", "0\n0\n")
	if _, err := readFileBounded(fsys, "/limit", 4); err != nil {
		t.Fatalf("file of exactly the limit: %v", err)
	}
	if _, err := readFileBounded(fsys, "/limit", 3); !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("file one byte over the limit: %v", err)
	}
}

func TestGenericCheckpoint(t *testing.T) {
	fsys := vfs.NewMem()
	entries := [][]string{{"a", "b", "c", "d"}, {"1", "2", "3", "4"}}
	if err := WriteCheckpoint(fsys, "/g", 7, entries); err != nil {
		t.Fatal(err)
	}
	if got, _ := ckptReadOpt(t, fsys, "/g"); string(got) != "7\n2\na b c d\n1 2 3 4\n" {
		t.Fatalf("file %q", got)
	}
	got, err := ReadCheckpoint(fsys, "/g", 7, 4)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(entries) {
		t.Fatalf("read %v, want %v", got, entries)
	}
	_, err = ReadCheckpoint(fsys, "/g", 0, 4)
	ckptWantCorrupt(t, err)
	_, err = ReadCheckpoint(fsys, "/g", 7, 3)
	ckptWantCorrupt(t, err)

	for _, bad := range [][][]string{{{"a b"}}, {{""}}, {{"a\n"}}, {{}}, {{"x\ty"}}} {
		if err := WriteCheckpoint(fsys, "/g", 7, bad); err == nil {
			t.Errorf("WriteCheckpoint(%q) succeeded", bad)
		}
	}
	if got, _ := ckptReadOpt(t, fsys, "/g"); string(got) != "7\n2\na b c d\n1 2 3 4\n" {
		t.Fatalf("refused write changed the file: %q", got)
	}
}

// ---------------------------------------------------------------------------
// Leader-epoch checkpoint.

func TestLeaderEpochCheckpointExactBytes(t *testing.T) {
	fsys := vfs.NewMem()
	entries := []EpochEntry{{0, 0}, {3, 150}, {2147483647, 9223372036854775807}}
	if err := WriteLeaderEpochCheckpoint(fsys, "/p/"+LeaderEpochCheckpointFile, entries); err == nil {
		// /p does not exist: the tmp file cannot be created.
		t.Fatal("write into a missing directory succeeded")
	}
	if err := fsys.MkdirAll("/p", 0o755); err != nil {
		t.Fatal(err)
	}
	name := "/p/" + LeaderEpochCheckpointFile
	if err := WriteLeaderEpochCheckpoint(fsys, name, entries); err != nil {
		t.Fatal(err)
	}
	want := "0\n3\n0 0\n3 150\n2147483647 9223372036854775807\n"
	if got, _ := ckptReadOpt(t, fsys, name); string(got) != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	got, err := ReadLeaderEpochCheckpoint(fsys, name)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(entries) {
		t.Fatalf("read %v, %v; want %v", got, err, entries)
	}
	if err := WriteLeaderEpochCheckpoint(fsys, name, []EpochEntry{{3, 5}, {2, 9}}); err == nil {
		t.Fatal("non-monotonic entries written")
	}
	if err := WriteLeaderEpochCheckpoint(fsys, name, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := ckptReadOpt(t, fsys, name); string(got) != "0\n0\n" {
		t.Fatalf("empty cache file %q", got)
	}
}

func TestReadLeaderEpochCheckpointCorrupt(t *testing.T) {
	cases := []struct{ name, data string }{
		{"bad version", "1\n1\n0 0\n"},
		{"count mismatch", "0\n3\n0 0\n1 5\n"},
		{"huge count", "0\n1000000000\n0 0\n"},
		{"extra field", "0\n1\n0 0 0\n"},
		{"one field", "0\n1\n0\n"},
		{"non-numeric epoch", "0\n1\nx 0\n"},
		{"non-numeric offset", "0\n1\n0 y\n"},
		{"negative epoch", "0\n1\n-1 0\n"},
		{"negative offset", "0\n1\n0 -3\n"},
		{"epoch overflow", "0\n1\n2147483648 0\n"},
		{"duplicate epoch", "0\n2\n1 0\n1 5\n"},
		{"decreasing epoch", "0\n2\n2 0\n1 5\n"},
		{"equal offsets", "0\n2\n1 5\n2 5\n"},
		{"decreasing offsets", "0\n2\n1 9\n2 5\n"},
		{"no trailing newline", "0\n1\n0 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			ckptMustWrite(t, fsys, "/cp", tc.data)
			got, err := ReadLeaderEpochCheckpoint(fsys, "/cp")
			if got != nil {
				t.Errorf("got entries %v", got)
			}
			ckptWantCorrupt(t, err)
		})
	}
}

// ---------------------------------------------------------------------------
// Atomic replacement.

// TestWriteFileAtomicCrash crashes after every step of the write sequence
// (create tmp, write, sync, close, rename, syncdir) with many seeds and
// both crash models, and checks that the file is always the old or the
// new complete content, and the new one once WriteFileAtomic returned.
func TestWriteFileAtomicCrash(t *testing.T) {
	const seeds = 250
	newData := map[TopicPartition]int64{{"t", 0}: 100, {"t", 1}: 200, {"u", 0}: 300}
	for _, withOld := range []bool{true, false} {
		for seed := range uint64(seeds) {
			mem := vfs.NewMem()
			name := "/logs/" + RecoveryPointCheckpointFile
			if err := mem.MkdirAll("/logs", 0o755); err != nil {
				t.Fatal(err)
			}
			var oldBytes []byte
			if withOld {
				if err := WriteOffsetCheckpoint(mem, name, map[TopicPartition]int64{{"t", 0}: 7}); err != nil {
					t.Fatal(err)
				}
				oldBytes, _ = ckptReadOpt(t, mem, name)
			}
			mem.SyncAll()
			// A stale tmp file from an earlier crash must not matter.
			if seed%3 == 0 {
				ckptMustWrite(t, mem, name+".tmp", "garbage")
				mem.SyncAll()
			}
			newBytes, err := encodeCheckpoint(0, [][]string{{"t", "0", "100"}, {"t", "1", "200"}, {"u", "0", "300"}})
			if err != nil {
				t.Fatal(err)
			}
			step := uint64(0)
			check := func(where string, clone *vfs.MemFS, mustBeNew bool) {
				got, ok := ckptReadOpt(t, clone, name)
				switch {
				case ok && bytes.Equal(got, newBytes):
				case mustBeNew:
					t.Fatalf("seed %d %s: after the write returned the file is %q (present %v), want the new content", seed, where, got, ok)
				case withOld && ok && bytes.Equal(got, oldBytes):
				case !withOld && !ok:
				default:
					t.Fatalf("seed %d %s: file is %q (present %v): neither old nor new", seed, where, got, ok)
				}
				// Whatever is there must read back cleanly.
				if ok {
					if _, err := ReadOffsetCheckpoint(clone, name); err != nil {
						t.Fatalf("seed %d %s: %v", seed, where, err)
					}
				}
			}
			hfs := &ckptHookFS{FS: mem, hook: func(s string) {
				step++
				rng := rand.New(rand.NewPCG(seed, step))
				check("crash after "+s, mem.CrashClone(rng), false)
				check("dirops crash after "+s, mem.CrashCloneWith(vfs.CrashOptions{Rand: rng, DirOps: true}), false)
				check("strict crash after "+s, mem.CrashCloneStrict(), false)
			}}
			if err := WriteOffsetCheckpoint(hfs, name, newData); err != nil {
				t.Fatal(err)
			}
			if step < 6 {
				t.Fatalf("only %d steps observed", step)
			}
			rng := rand.New(rand.NewPCG(seed, 1<<40))
			check("crash after return", mem.CrashClone(rng), true)
			check("dirops crash after return", mem.CrashCloneWith(vfs.CrashOptions{Rand: rng, DirOps: true}), true)
			check("strict crash after return", mem.CrashCloneStrict(), true)
		}
	}
}

func TestWriteFileAtomicSyncError(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.WithErrors(mem)
	name := "/d/" + LogStartOffsetCheckpointFile
	if err := mem.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	mem.SyncAll() // the directory itself is durable
	old := map[TopicPartition]int64{{"t", 0}: 1}
	if err := WriteOffsetCheckpoint(efs, name, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := ckptReadOpt(t, mem, name)

	fault := efs.Inject(vfs.Rule{Ops: vfs.OpSync, Path: vfs.PathHasSuffix(".tmp")})
	err := WriteOffsetCheckpoint(efs, name, map[TopicPartition]int64{{"t", 0}: 2})
	if !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("write with failing sync: %v, want the injected error", err)
	}
	if fault.Hits() != 1 {
		t.Fatalf("fault hit %d times", fault.Hits())
	}
	for what, fsys := range map[string]vfs.FS{"live": mem, "crashed": mem.CrashCloneStrict(), "crashed random": mem.CrashClone(rand.New(rand.NewPCG(1, 2)))} {
		if got, _ := ckptReadOpt(t, fsys, name); !bytes.Equal(got, oldBytes) {
			t.Fatalf("%s: file is %q after a failed write, want the old %q", what, got, oldBytes)
		}
	}
	if _, ok := ckptReadOpt(t, mem, name+".tmp"); ok {
		t.Fatal("tmp file left after a failed write")
	}
	fault.Disarm()

	// A failed rename leaves the old file too.
	fault = efs.Inject(vfs.Rule{Ops: vfs.OpRename})
	if err := WriteOffsetCheckpoint(efs, name, map[TopicPartition]int64{{"t", 0}: 3}); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("write with failing rename: %v", err)
	}
	if got, _ := ckptReadOpt(t, mem, name); !bytes.Equal(got, oldBytes) {
		t.Fatalf("file %q after a failed rename", got)
	}
	fault.Disarm()

	// A failed directory sync is reported; the new content is visible but
	// not durable (a crash brings back the old file).
	fault = efs.Inject(vfs.Rule{Ops: vfs.OpSyncDir})
	if err := WriteOffsetCheckpoint(efs, name, map[TopicPartition]int64{{"t", 0}: 4}); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("write with failing syncdir: %v", err)
	}
	if got, _ := ckptReadOpt(t, mem.CrashCloneStrict(), name); !bytes.Equal(got, oldBytes) {
		t.Fatalf("crash after failed syncdir: %q", got)
	}
	fault.Disarm()

	// A retry after the faults succeeds and is durable.
	if err := WriteOffsetCheckpoint(efs, name, map[TopicPartition]int64{{"t", 0}: 5}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadOffsetCheckpoint(mem.CrashCloneStrict(), name)
	if err != nil || got[TopicPartition{"t", 0}] != 5 {
		t.Fatalf("after retry: %v, %v", got, err)
	}
}

// ---------------------------------------------------------------------------
// meta.properties

// A meta.properties as Kafka's Properties.store writes it: an empty
// comment, a timestamp comment, then the keys in hash order.
const kafkaMetaProperties = "#\n" +
	"#Fri Nov 21 21:12:03 UTC 2025\n" +
	"node.id=3\n" +
	"directory.id=AQEBAQEBAQEBAQEBAQEBAQ\n" +
	"version=1\n" +
	"cluster.id=MkU3OEVBNTcwNTJENDM2Qg\n"

func TestReadMetaPropertiesKafkaFile(t *testing.T) {
	fsys := vfs.NewMem()
	ckptMustWrite(t, fsys, "/data/meta.properties", kafkaMetaProperties)
	mp, err := ReadMetaProperties(fsys, "/data")
	if err != nil {
		t.Fatal(err)
	}
	want := MetaProperties{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qg", NodeID: 3, DirectoryID: [16]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
	if mp != want {
		t.Fatalf("read %+v, want %+v", mp, want)
	}
	if err := CheckMetaProperties(mp, MetaProperties{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qg", NodeID: 3}); err != nil {
		t.Fatalf("matching properties refused: %v", err)
	}
}

func TestMetaPropertiesWriteExactAndRoundTrip(t *testing.T) {
	fsys := vfs.NewMem()
	if err := fsys.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	fsys.SyncAll() // the directory itself is durable
	mp := MetaProperties{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qg", NodeID: 7, DirectoryID: [16]byte{15: 1, 0: 0xfc}}
	if err := WriteMetaProperties(fsys, "/data", mp); err != nil {
		t.Fatal(err)
	}
	want := "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=7\ndirectory.id=" + UUIDString(mp.DirectoryID) + "\n"
	if got, _ := ckptReadOpt(t, fsys, "/data/meta.properties"); string(got) != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	got, err := ReadMetaProperties(fsys.CrashCloneStrict(), "/data")
	if err != nil || got != mp {
		t.Fatalf("read after crash %+v, %v; want %+v", got, err, mp)
	}

	// Without a directory id the key is left out.
	mp.DirectoryID = [16]byte{}
	if err := WriteMetaProperties(fsys, "/data", mp); err != nil {
		t.Fatal(err)
	}
	if got, _ := ckptReadOpt(t, fsys, "/data/meta.properties"); strings.Contains(string(got), "directory.id") {
		t.Fatalf("zero directory id written: %q", got)
	}
	if got, err := ReadMetaProperties(fsys, "/data"); err != nil || got != mp {
		t.Fatalf("read %+v, %v; want %+v", got, err, mp)
	}

	for _, bad := range []MetaProperties{
		{Version: 0, ClusterID: "c", NodeID: 1},
		{Version: 1, ClusterID: "", NodeID: 1},
		{Version: 1, ClusterID: "c", NodeID: -1},
		{Version: 1, ClusterID: "\xff", NodeID: 1},
	} {
		if err := WriteMetaProperties(fsys, "/data", bad); err == nil {
			t.Errorf("WriteMetaProperties(%+v) succeeded", bad)
		}
	}
}

func TestMetaPropertiesClusterIDEscapingProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := rapid.StringOf(rapid.SampledFrom([]rune{'a', 'Z', '0', ' ', '=', ':', '#', '!', '\\', '\t', '\n', '\r', '\f', 'é', '\u2028', 'u'})).
			Filter(func(s string) bool { return s != "" }).Draw(t, "cluster")
		mp := MetaProperties{Version: 1, ClusterID: id, NodeID: rapid.Int32Min(0).Draw(t, "node")}
		fsys := vfs.NewMem()
		if err := WriteMetaProperties(fsys, "/", mp); err != nil {
			t.Fatal(err)
		}
		got, err := ReadMetaProperties(fsys, "/")
		if err != nil || got != mp {
			data, _ := vfs.ReadFile(fsys, "/meta.properties")
			t.Fatalf("read %+v, %v; want %+v (file %q)", got, err, mp, data)
		}
	})
}

func TestMetaPropertiesSyntax(t *testing.T) {
	cases := []struct {
		name, data string
		want       MetaProperties
	}{
		{"colon and blanks", "! bang comment\n  version : 1\ncluster.id:abc\n\n\n\tnode.id 4\n",
			MetaProperties{Version: 1, ClusterID: "abc", NodeID: 4}},
		{"crlf", "version=1\r\ncluster.id=abc\r\nnode.id=4\r\n",
			MetaProperties{Version: 1, ClusterID: "abc", NodeID: 4}},
		{"no final newline", "version=1\ncluster.id=abc\nnode.id=4",
			MetaProperties{Version: 1, ClusterID: "abc", NodeID: 4}},
		{"continuation", "version=1\ncluster.id=ab\\\n    cd\nnode.id=4\n",
			MetaProperties{Version: 1, ClusterID: "abcd", NodeID: 4}},
		{"escapes", "version=1\ncluster.id=a\\=b\\:c\\u0041\\\\\nnode.id=4\n",
			MetaProperties{Version: 1, ClusterID: "a=b:cA\\", NodeID: 4}},
		{"unknown keys ignored", "version=1\ncluster.id=abc\nnode.id=4\nsomething.else=x\n",
			MetaProperties{Version: 1, ClusterID: "abc", NodeID: 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			ckptMustWrite(t, fsys, "/d/meta.properties", tc.data)
			got, err := ReadMetaProperties(fsys, "/d")
			if err != nil || got != tc.want {
				t.Fatalf("read %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestReadMetaPropertiesCorrupt(t *testing.T) {
	cases := []struct{ name, data string }{
		{"empty", ""},
		{"missing version (v0)", "broker.id=1\ncluster.id=abc\n"},
		{"version 0", "version=0\nbroker.id=1\ncluster.id=abc\n"},
		{"version 2", "version=2\nnode.id=1\ncluster.id=abc\n"},
		{"malformed version", "version=one\nnode.id=1\ncluster.id=abc\n"},
		{"missing node id", "version=1\ncluster.id=abc\n"},
		{"malformed node id", "version=1\nnode.id=x\ncluster.id=abc\n"},
		{"negative node id", "version=1\nnode.id=-2\ncluster.id=abc\n"},
		{"missing cluster id", "version=1\nnode.id=1\n"},
		{"empty cluster id", "version=1\nnode.id=1\ncluster.id=\n"},
		{"bad directory id", "version=1\nnode.id=1\ncluster.id=abc\ndirectory.id=nope\n"},
		{"duplicate key", "version=1\nnode.id=1\nnode.id=2\ncluster.id=abc\n"},
		{"bad unicode escape", "version=1\nnode.id=1\ncluster.id=a\\u00\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			ckptMustWrite(t, fsys, "/d/meta.properties", tc.data)
			_, err := ReadMetaProperties(fsys, "/d")
			ckptWantCorrupt(t, err)
		})
	}
	if _, err := ReadMetaProperties(vfs.NewMem(), "/d"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing meta.properties: %v", err)
	}
}

func TestCheckMetaPropertiesMismatch(t *testing.T) {
	have := MetaProperties{Version: 1, ClusterID: "clusterA", NodeID: 1, DirectoryID: RandomUUID()}
	cases := []struct {
		name    string
		want    MetaProperties
		mention []string
	}{
		{"other cluster", MetaProperties{Version: 1, ClusterID: "clusterB", NodeID: 1}, []string{"clusterA", "clusterB"}},
		{"other node", MetaProperties{Version: 1, ClusterID: "clusterA", NodeID: 2}, []string{"node.id is 1, expected 2"}},
		{"both", MetaProperties{Version: 1, ClusterID: "x", NodeID: 9}, []string{"cluster.id", "node.id"}},
	}
	for _, tc := range cases {
		err := CheckMetaProperties(have, tc.want)
		if !errors.Is(err, ErrMetaPropertiesMismatch) {
			t.Fatalf("%s: %v, want ErrMetaPropertiesMismatch", tc.name, err)
		}
		for _, m := range tc.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, m)
			}
		}
	}
	// The directory id is per directory: not compared.
	same := have
	same.DirectoryID = RandomUUID()
	if err := CheckMetaProperties(have, same); err != nil {
		t.Fatalf("different directory ids refused: %v", err)
	}
}

// ---------------------------------------------------------------------------
// partition.metadata

func TestPartitionMetadata(t *testing.T) {
	fsys := vfs.NewMem()
	dir := "/data/orders-0"
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fsys.SyncAll() // the directory itself is durable
	id := [16]byte{0: 0x12, 15: 0x34}
	if err := WritePartitionMetadata(fsys, dir, id); err != nil {
		t.Fatal(err)
	}
	want := "version: 0\ntopic_id: EgAAAAAAAAAAAAAAAAAANA\n"
	if got, _ := ckptReadOpt(t, fsys, dir+"/partition.metadata"); string(got) != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	if got, err := ReadPartitionMetadata(fsys.CrashCloneStrict(), dir); err != nil || got != id {
		t.Fatalf("read %v, %v", got, err)
	}
	if err := WritePartitionMetadata(fsys, dir, [16]byte{}); err == nil {
		t.Fatal("zero topic id written")
	}

	// Kafka writes the file without a final newline.
	ckptMustWrite(t, fsys, dir+"/partition.metadata", "version: 0\ntopic_id: EgAAAAAAAAAAAAAAAAAANA")
	if got, err := ReadPartitionMetadata(fsys, dir); err != nil || got != id {
		t.Fatalf("read Kafka form %v, %v", got, err)
	}

	for _, bad := range []string{
		"",
		"version: 1\ntopic_id: EgAAAAAAAAAAAAAAAAAANA\n",
		"version:0\ntopic_id: EgAAAAAAAAAAAAAAAAAANA\n",
		"version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n",
		"version: 0\ntopic_id: EgAAAAAAAAAAAAAAAAAAN\n",
		"version: 0\ntopic: EgAAAAAAAAAAAAAAAAAANA\n",
		"version: 0\ntopic_id: EgAAAAAAAAAAAAAAAAAANA\n\n",
		"version: 0\ntopic_id: EgAAAAAAAAAAAAAAAAAANA\nextra\n",
		"version: 0\n",
	} {
		ckptMustWrite(t, fsys, dir+"/partition.metadata", bad)
		_, err := ReadPartitionMetadata(fsys, dir)
		if err == nil || !errors.Is(err, ErrCorruptCheckpoint) {
			t.Errorf("partition.metadata %q: %v, want ErrCorruptCheckpoint", bad, err)
		}
	}
	if _, err := ReadPartitionMetadata(fsys, "/elsewhere"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Clean shutdown marker.

func TestCleanShutdown(t *testing.T) {
	fsys := vfs.NewMem()
	dir := "/data"
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fsys.SyncAll()
	if epoch, ok, err := ReadCleanShutdown(fsys, dir); err != nil || ok || epoch != 0 {
		t.Fatalf("no marker: %d %v %v", epoch, ok, err)
	}
	if err := WriteCleanShutdown(fsys, dir, 1234); err != nil {
		t.Fatal(err)
	}
	if got, _ := ckptReadOpt(t, fsys, dir+"/.kafka_cleanshutdown"); string(got) != `{"version":0,"brokerEpoch":1234}` {
		t.Fatalf("marker %q", got)
	}
	// Durable once written.
	if epoch, ok, err := ReadCleanShutdown(fsys.CrashCloneStrict(), dir); err != nil || !ok || epoch != 1234 {
		t.Fatalf("after crash: %d %v %v", epoch, ok, err)
	}
	if err := RemoveCleanShutdown(fsys, dir); err != nil {
		t.Fatal(err)
	}
	// Removal is durable too: a crash does not bring it back.
	if _, ok, err := ReadCleanShutdown(fsys.CrashCloneStrict(), dir); err != nil || ok {
		t.Fatalf("marker back after crash: %v %v", ok, err)
	}
	if err := RemoveCleanShutdown(fsys, dir); err != nil {
		t.Fatalf("removing a missing marker: %v", err)
	}

	// Kafka's reader ignores unknown fields; so do we. Negative epochs
	// (-1: unknown) are kept as is.
	ckptMustWrite(t, fsys, dir+"/.kafka_cleanshutdown", `{"brokerEpoch":-1,"version":0,"future":true}`+"\n")
	if epoch, ok, err := ReadCleanShutdown(fsys, dir); err != nil || !ok || epoch != -1 {
		t.Fatalf("marker with unknown field: %d %v %v", epoch, ok, err)
	}
	for _, bad := range []string{"", "{}", `{"version":0}`, `{"version":1,"brokerEpoch":3}`, `{"version":0,"brokerEpoch":"3"}`, `{"version":0,"brokerEpoch":3`, "garbage"} {
		ckptMustWrite(t, fsys, dir+"/.kafka_cleanshutdown", bad)
		epoch, ok, err := ReadCleanShutdown(fsys, dir)
		if ok || epoch != 0 || !errors.Is(err, ErrCorruptCheckpoint) {
			t.Errorf("marker %q: %d %v %v, want ErrCorruptCheckpoint", bad, epoch, ok, err)
		}
	}

	// A failing directory sync is reported by RemoveCleanShutdown.
	efs := vfs.WithErrors(fsys)
	efs.Inject(vfs.Rule{Ops: vfs.OpSyncDir})
	if err := RemoveCleanShutdown(efs, dir); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("remove with failing syncdir: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Uuid strings.

func TestUUIDStringVectors(t *testing.T) {
	var ones [16]byte
	for i := range ones {
		ones[i] = 0x01
	}
	cases := []struct {
		id  [16]byte
		str string
	}{
		{ones, "AQEBAQEBAQEBAQEBAQEBAQ"},
		{[16]byte{}, "AAAAAAAAAAAAAAAAAAAAAA"},                 // Kafka's ZERO_UUID
		{[16]byte{15: 1}, "AAAAAAAAAAAAAAAAAAAAAQ"},            // Kafka's ONE_UUID
		{[16]byte{0: 0xfb, 1: 0xff}, "-_8AAAAAAAAAAAAAAAAAAA"}, // URL-safe alphabet
	}
	for _, tc := range cases {
		if got := UUIDString(tc.id); got != tc.str {
			t.Errorf("UUIDString(%x) = %q, want %q", tc.id, got, tc.str)
		}
		if got, err := ParseUUID(tc.str); err != nil || got != tc.id {
			t.Errorf("ParseUUID(%q) = %x, %v; want %x", tc.str, got, err, tc.id)
		}
	}
}

func TestParseUUIDRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"AQEBAQEBAQEBAQEBAQEBA",    // 21 characters
		"AQEBAQEBAQEBAQEBAQEBAQE",  // 23
		"AQEBAQEBAQEBAQEBAQEBAQ==", // padded
		"AQEBAQEBAQEBAQEBAQEB+Q",   // standard alphabet
		"AQEBAQEBAQEBAQEBAQEB/Q",
		"AQEBAQEBAQEBAQEBAQEB Q",
		"AQEBAQEBAQEBAQEBAQEBAR", // non-zero unused bits
		"AQEBAQEBAQEBAQEBAQEBA\n",
		"éQEBAQEBAQEBAQEBAQEBA",
	} {
		if id, err := ParseUUID(s); err == nil {
			t.Errorf("ParseUUID(%q) = %x, want an error", s, id)
		}
	}
}

func TestUUIDRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var id [16]byte
		copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "bytes"))
		s := UUIDString(id)
		if len(s) != 22 {
			t.Fatalf("UUIDString length %d", len(s))
		}
		got, err := ParseUUID(s)
		if err != nil || got != id {
			t.Fatalf("ParseUUID(%q) = %x, %v; want %x", s, got, err, id)
		}
	})
}

func TestRandomUUID(t *testing.T) {
	seen := make(map[[16]byte]bool)
	for range 20000 {
		id := RandomUUID()
		s := UUIDString(id)
		if id == ([16]byte{}) || id == ([16]byte{15: 1}) {
			t.Fatalf("reserved Uuid %q", s)
		}
		if s[0] == '-' {
			t.Fatalf("Uuid string %q starts with '-'", s)
		}
		if id[6]>>4 != 4 || id[8]>>6 != 2 {
			t.Fatalf("Uuid %x is not version 4 variant 2", id)
		}
		if seen[id] {
			t.Fatalf("Uuid %q drawn twice", s)
		}
		seen[id] = true
	}
}
