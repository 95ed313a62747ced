package vfs

import (
	"errors"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestErrorFSSyncFailureNotDurable: an injected Sync error is returned
// (as EIO), and the data written since the last good Sync is lost in any
// crash, even after a later Sync succeeds (the fsyncgate model), whether
// ErrorFS sits directly on the MemFS or on another wrapper.
func TestErrorFSSyncFailureNotDurable(t *testing.T) {
	stacks := []struct {
		name string
		wrap func(m *MemFS) *ErrorFS
	}{
		{"errors(mem)", func(m *MemFS) *ErrorFS { return WithErrors(m) }},
		{"errors(counters(mem))", func(m *MemFS) *ErrorFS { return WithErrors(WithCounters(m)) }},
	}
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			m := NewMem()
			durableFile(t, m, "/d/wal", "rec1|")
			e := st.wrap(m)
			f, err := e.OpenReadWrite("/d/wal")
			must(t, err)
			defer f.Close()
			_, err = f.Seek(0, 2)
			must(t, err)
			_, err = f.Write([]byte("rec2|"))
			must(t, err)

			fault := e.Inject(Rule{Ops: OpSync, Path: PathHasSuffix("/wal"), Limit: 1})
			err = f.Sync()
			if !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrInjected) {
				t.Fatalf("Sync = %v, want injected EIO", err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != "/d/wal" || pe.Op != "sync" {
				t.Fatalf("Sync error %#v lacks op/path", err)
			}
			if fault.Hits() != 1 {
				t.Fatalf("Hits = %d", fault.Hits())
			}
			wantContent(t, m, "/d/wal", "rec1|rec2|") // still readable
			lost := func(when string) {
				t.Helper()
				wantContent(t, m.CrashCloneStrict(), "/d/wal", "rec1|")
				for seed := range 200 {
					got, _ := content(t, m.CrashClone(seeded(seed)), "/d/wal")
					if got != "rec1|" {
						t.Fatalf("%s, seed %d: crash kept %q after a failed sync", when, seed, got)
					}
				}
			}
			lost("after failed Sync")
			must(t, f.Sync()) // the fault is spent; this one "succeeds"
			lost("after a later successful Sync")

			_, err = f.Write([]byte("rec3|"))
			must(t, err)
			must(t, f.Sync())
			got, _ := content(t, m.CrashCloneStrict(), "/d/wal")
			if strings.Contains(got, "rec2") || !strings.HasSuffix(got, "rec3|") || !strings.HasPrefix(got, "rec1|") {
				t.Fatalf("after new write+sync, crash kept %q", got)
			}
		})
	}
}

// errCall performs one operation through fsys; arg is a path ("old>new"
// for rename).
func errCall(t *testing.T, fsys FS, op, arg string) error {
	t.Helper()
	withFile := func(fn func(File) error) error {
		f, err := fsys.OpenReadWrite(arg)
		if err != nil {
			t.Fatalf("setup open %s: %v", arg, err)
		}
		defer f.Close()
		return fn(f)
	}
	switch op {
	case "write":
		return withFile(func(f File) error { _, err := f.Write([]byte("x")); return err })
	case "writeat":
		return withFile(func(f File) error { _, err := f.WriteAt([]byte("x"), 0); return err })
	case "read":
		return withFile(func(f File) error { _, err := f.ReadAt(make([]byte, 0), 0); return err })
	case "sync":
		return withFile(File.Sync)
	case "truncate":
		return withFile(func(f File) error { return f.Truncate(0) })
	case "syncdir":
		return fsys.SyncDir(arg)
	case "rename":
		o, n, _ := strings.Cut(arg, ">")
		return fsys.Rename(o, n)
	case "stat":
		_, err := fsys.Stat(arg)
		return err
	}
	t.Fatalf("unknown op %q", op)
	return nil
}

// TestErrorFSRules: which calls a rule fails (ops, path, After, Limit,
// custom error), as a pattern of outcomes over a call sequence.
func TestErrorFSRules(t *testing.T) {
	type call struct{ op, arg string }
	tests := []struct {
		name  string
		rule  Rule
		calls []call
		fails string // one char per call: '.' ok, 'X' injected error
		isErr error
	}{
		{
			name:  "After and Limit",
			rule:  Rule{Ops: OpSync, After: 2, Limit: 2},
			calls: []call{{"sync", "/d/a"}, {"sync", "/d/a"}, {"sync", "/d/a"}, {"sync", "/d/a"}, {"sync", "/d/a"}, {"sync", "/d/a"}},
			fails: "..XX..",
			isErr: syscall.EIO,
		},
		{
			name:  "path predicate",
			rule:  Rule{Ops: OpWrite, Path: PathHasSuffix(".index")},
			calls: []call{{"write", "/d/0.log"}, {"write", "/d/0.index"}, {"writeat", "/d/0.index"}, {"writeat", "/d/0.log"}},
			fails: ".XX.",
			isErr: ErrInjected,
		},
		{
			name:  "op mask",
			rule:  Rule{Ops: OpSyncDir | OpTruncate},
			calls: []call{{"sync", "/d/a"}, {"syncdir", "/d"}, {"truncate", "/d/a"}, {"read", "/d/a"}, {"stat", "/d/a"}},
			fails: ".XX..",
			isErr: syscall.EIO,
		},
		{
			name:  "custom error",
			rule:  Rule{Ops: OpWrite | OpRename, Err: syscall.ENOSPC},
			calls: []call{{"write", "/d/a"}, {"sync", "/d/a"}, {"rename", "/d/a>/d/b"}},
			fails: "X.X",
			isErr: syscall.ENOSPC,
		},
		{
			name:  "rename matches either name",
			rule:  Rule{Ops: OpRename, Path: PathIs("/d/CHECKPOINT")},
			calls: []call{{"rename", "/d/a>/d/b"}, {"rename", "/d/b>/d/CHECKPOINT"}, {"rename", "/d/CHECKPOINT>/d/b"}},
			fails: ".XX",
			isErr: syscall.EIO,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			must(t, m.MkdirAll("/d", 0o755))
			writeFile(t, m, "/d/a", "", false)
			e := WithErrors(m)
			fault := e.Inject(tc.rule)
			var got strings.Builder
			for _, c := range tc.calls {
				err := errCall(t, e, c.op, c.arg)
				switch {
				case err == nil:
					got.WriteByte('.')
				case errors.Is(err, tc.isErr):
					got.WriteByte('X')
				default:
					t.Fatalf("%s %s: unexpected error %v", c.op, c.arg, err)
				}
			}
			if got.String() != tc.fails {
				t.Fatalf("pattern %q, want %q", got.String(), tc.fails)
			}
			if want := strings.Count(tc.fails, "X"); fault.Hits() != want {
				t.Fatalf("Hits = %d, want %d", fault.Hits(), want)
			}
		})
	}
}

// TestErrorFSFailedOpsHaveNoEffect: a failed operation is not performed.
func TestErrorFSFailedOpsHaveNoEffect(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/a", "A")
	e := WithErrors(m)

	e.Inject(Rule{Ops: OpWrite | OpCreate | OpRemove | OpRename | OpMkdir | OpLock})
	f, err := e.OpenReadWrite("/d/a")
	if err == nil {
		t.Fatal("OpenReadWrite succeeded under an OpCreate fault")
	}
	e.DisarmAll()
	e.Inject(Rule{Ops: OpWrite | OpRemove | OpRename | OpMkdir | OpLock})
	f, err = e.OpenReadWrite("/d/a")
	must(t, err)
	if n, err := f.Write([]byte("zzz")); n != 0 || err == nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	must(t, f.Close())
	if e.Remove("/d/a") == nil || e.RemoveAll("/d") == nil || e.Rename("/d/a", "/d/b") == nil ||
		e.MkdirAll("/d/x", 0o755) == nil {
		t.Fatal("an injected namespace operation succeeded")
	}
	if _, err := e.Lock("/d/LOCK"); err == nil {
		t.Fatal("Lock succeeded")
	}
	if got := dump(t, m, "/"); got != "/d/\n/d/a \"A\"\n" {
		t.Fatalf("state changed by failed operations:\n%s", got)
	}

	// A failed SyncDir makes a rename no more durable than no SyncDir.
	e.DisarmAll()
	sd := e.Inject(Rule{Ops: OpSyncDir})
	must(t, e.Rename("/d/a", "/d/b"))
	if err := e.SyncDir("/d"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("SyncDir = %v", err)
	}
	wantContent(t, m.CrashCloneStrict(), "/d/a", "A")
	wantMissing(t, m.CrashCloneStrict(), "/d/b")
	sd.Disarm()
	must(t, e.SyncDir("/d"))
	wantContent(t, m.CrashCloneStrict(), "/d/b", "A")
}

// TestErrorFSAroundOS: the wrapper works around the real file system.
func TestErrorFSAroundOS(t *testing.T) {
	dir := t.TempDir()
	e := WithErrors(NewOS())
	name := e.PathJoin(dir, "seg")
	f, err := e.Create(name)
	must(t, err)
	defer f.Close()
	_, err = f.Write([]byte("data"))
	must(t, err)
	fault := e.Inject(Rule{Ops: OpSync | OpSyncDir})
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync = %v", err)
	}
	if err := e.SyncDir(dir); !errors.Is(err, syscall.EIO) {
		t.Fatalf("SyncDir = %v", err)
	}
	fault.Disarm()
	must(t, f.Sync())
	must(t, e.SyncDir(dir))
	wantContent(t, e, name, "data")
	if s := (OpSync | OpWrite).String(); s != "write|sync" {
		t.Fatalf("Op.String = %q", s)
	}
}

// TestCounters: Sync/SyncDir/Write counts on both file systems, failed
// calls included, and exact under concurrency.
func TestCounters(t *testing.T) {
	for _, fc := range allFS {
		t.Run(fc.name, func(t *testing.T) {
			base, root := fc.make(t)
			c := WithCounters(base)
			f, err := c.Create(c.PathJoin(root, "seg"))
			must(t, err)
			for _, s := range []string{"a", "bb", "ccc"} {
				_, err := f.Write([]byte(s))
				must(t, err)
			}
			_, err = f.WriteAt([]byte("dddd"), 0)
			must(t, err)
			must(t, f.Sync())
			must(t, f.Sync())
			must(t, c.SyncDir(root))
			must(t, f.Close())
			want := Counts{Syncs: 2, SyncDirs: 1, Writes: 4, BytesWritten: 10}
			if got := c.Counts(); got != want {
				t.Fatalf("Counts = %+v, want %+v", got, want)
			}
			if c.Syncs() != 2 || c.SyncDirs() != 1 || c.Counts().Fsyncs() != 3 {
				t.Fatal("accessors disagree with Counts")
			}
			c.Reset()
			if got := c.Counts(); got != (Counts{}) {
				t.Fatalf("after Reset: %+v", got)
			}

			const goroutines, each = 8, 100
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					f, err := c.Create(c.PathJoin(root, "g"+string(rune('a'+g))))
					if err != nil {
						t.Error(err)
						return
					}
					defer f.Close()
					for range each {
						f.Write([]byte("x"))
						f.Sync()
					}
				})
			}
			wg.Wait()
			if got := c.Counts(); got.Syncs != goroutines*each || got.Writes != goroutines*each {
				t.Fatalf("concurrent counts %+v", got)
			}
		})
	}
}

// TestCountersCountFailedSyncs: a sync that fails is still a sync call.
func TestCountersCountFailedSyncs(t *testing.T) {
	e := WithErrors(NewMem())
	c := WithCounters(e)
	e.Inject(Rule{Ops: OpSync | OpSyncDir})
	f, err := c.Create("/f")
	must(t, err)
	if f.Sync() == nil || c.SyncDir("/") == nil {
		t.Fatal("sync did not fail")
	}
	must(t, f.Close())
	if got := c.Counts(); got.Syncs != 1 || got.SyncDirs != 1 {
		t.Fatalf("Counts = %+v", got)
	}
	if c.Unwrap() != FS(e) || e.Unwrap() == nil {
		t.Fatal("Unwrap")
	}
	if _, ok := OSFile(f); ok {
		t.Fatal("OSFile on MemFS")
	}
}
