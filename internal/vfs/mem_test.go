package vfs

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

const seeds = 500

func seeded(seed int) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0x5eed)) }

// durableFile sets up dir/name with data, fully durable: dir entries from
// the root down and the data are synced.
func durableFile(t testing.TB, m *MemFS, name, data string) {
	t.Helper()
	dir := m.PathDir(name)
	must(t, m.MkdirAll(dir, 0o755))
	for d := dir; ; d = m.PathDir(d) {
		must(t, m.SyncDir(d))
		if d == "/" {
			break
		}
	}
	writeFile(t, m, name, data, true)
	must(t, m.SyncDir(dir))
}

// TestCrashOutcomesArePrefixes enumerates, for small histories of un-synced
// file operations, exactly which contents a crash may leave, and checks
// over 500 seeds that CrashClone produces only those (no reordering, no
// garbage) and every one of them (the randomness covers the space).
func TestCrashOutcomesArePrefixes(t *testing.T) {
	tests := []struct {
		name    string
		durable string
		ops     func(t *testing.T, f File)
		want    []string
	}{
		{
			name:    "appends tear at any byte",
			durable: "base",
			ops: func(t *testing.T, f File) {
				f.Seek(0, 2)
				f.Write([]byte("ab"))
				f.Write([]byte("cde"))
			},
			want: []string{"base", "basea", "baseab", "baseabc", "baseabcd", "baseabcde"},
		},
		{
			name:    "in-place writes are never reordered",
			durable: "0000",
			ops: func(t *testing.T, f File) {
				f.WriteAt([]byte("AB"), 1)
				f.WriteAt([]byte("C"), 0)
			},
			want: []string{"0000", "0A00", "0AB0", "CAB0"}, // never "C000"
		},
		{
			name:    "truncate then write",
			durable: "abcdef",
			ops: func(t *testing.T, f File) {
				f.Truncate(2)
				f.WriteAt([]byte("XY"), 2)
			},
			want: []string{"abcdef", "ab", "abX", "abXY"}, // never "abXYef"
		},
		{
			name:    "write past end zero-fills the gap",
			durable: "a",
			ops: func(t *testing.T, f File) {
				f.WriteAt([]byte("zz"), 3)
			},
			want: []string{"a", "a\x00\x00z", "a\x00\x00zz"},
		},
		{
			name:    "a sync in the middle is a floor",
			durable: "",
			ops: func(t *testing.T, f File) {
				f.Write([]byte("ab"))
				must(t, f.Sync())
				f.Write([]byte("cd"))
			},
			want: []string{"ab", "abc", "abcd"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			durableFile(t, m, "/d/f", tc.durable)
			f, err := m.OpenReadWrite("/d/f")
			must(t, err)
			tc.ops(t, f)
			seen := map[string]int{}
			for seed := range seeds {
				got, ok := content(t, m.CrashClone(seeded(seed)), "/d/f")
				if !ok {
					t.Fatalf("seed %d: durable file vanished", seed)
				}
				if !slices.Contains(tc.want, got) {
					t.Fatalf("seed %d: crash left %q, not one of %q", seed, got, tc.want)
				}
				seen[got]++
			}
			for _, w := range tc.want {
				if seen[w] == 0 {
					t.Errorf("outcome %q never produced in %d seeds (seen %v)", w, seeds, seen)
				}
			}
			wantContent(t, m.CrashCloneStrict(), "/d/f", tc.want[0])
			must(t, f.Close())
		})
	}
}

// TestCrashCreateOverExistingIsATruncate: Create on a durable file truncates
// the same file, an un-synced operation like any other.
func TestCrashCreateOverExistingIsATruncate(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/f", "old")
	writeFile(t, m, "/d/f", "new", false)
	want := []string{"old", "", "n", "ne", "new"}
	seen := map[string]bool{}
	for seed := range seeds {
		got, _ := content(t, m.CrashClone(seeded(seed)), "/d/f")
		if !slices.Contains(want, got) {
			t.Fatalf("seed %d: %q not one of %q", seed, got, want)
		}
		seen[got] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("outcomes %v, want all of %q", seen, want)
	}
}

// TestCrashUnsyncedAppendsArePrefix: a log with a synced head and many
// un-synced appends of random sizes recovers, for each of 500 seeds, as
// the synced head followed by a prefix of the appended bytes, torn at
// arbitrary bytes (not only at write boundaries).
func TestCrashUnsyncedAppendsArePrefix(t *testing.T) {
	r := seeded(-1)
	m := NewMem()
	head := randBytes(r, 100)
	durableFile(t, m, "/log/00000.log", string(head))
	f, err := m.OpenReadWrite("/log/00000.log")
	must(t, err)
	defer f.Close()
	_, err = f.Seek(0, 2)
	must(t, err)
	full := slices.Clone(head)
	boundaries := map[int]bool{len(full): true}
	for range 20 {
		rec := randBytes(r, 1+r.IntN(40))
		_, err := f.Write(rec)
		must(t, err)
		full = append(full, rec...)
		boundaries[len(full)] = true
	}
	var torn, none, all int
	for seed := range seeds {
		got, _ := content(t, m.CrashClone(seeded(seed)), "/log/00000.log")
		if len(got) < len(head) || !bytes.Equal([]byte(got), full[:len(got)]) {
			t.Fatalf("seed %d: recovered %d bytes that are not durable head + prefix of appends", seed, len(got))
		}
		switch {
		case len(got) == len(head):
			none++
		case len(got) == len(full):
			all++
		case !boundaries[len(got)]:
			torn++
		}
	}
	if torn == 0 || none == 0 || all == 0 {
		t.Fatalf("outcome coverage: torn=%d none=%d all=%d; want all > 0", torn, none, all)
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestCrashSyncedSurvives: data synced with File.Sync under a name made
// durable with SyncDir is intact after any crash, whatever un-synced noise
// happened around it.
func TestCrashSyncedSurvives(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/keep", "precious")
	durableFile(t, m, "/d/other", "x")
	writeFile(t, m, "/d/new", "unsynced", false)
	appendFile(t, m, "/d/other", "yyyy", false)
	must(t, m.Rename("/d/other", "/d/renamed"))
	must(t, m.MkdirAll("/d/sub", 0o755))
	for seed := range seeds {
		for _, dirOps := range []bool{false, true} {
			c := m.CrashCloneWith(CrashOptions{Rand: seeded(seed), DirOps: dirOps})
			wantContent(t, c, "/d/keep", "precious")
		}
	}
}

// TestCrashDirectoryEntries: creates, renames, removes and mkdirs are lost
// by a crash unless the directory was synced afterwards, and kept if it was.
func TestCrashDirectoryEntries(t *testing.T) {
	const missing = "<missing>"
	tests := []struct {
		name     string
		setup    map[string]string // durable files
		action   func(t *testing.T, m *MemFS)
		syncDirs []string
		unsynced map[string]string // after a crash without syncDirs
		synced   map[string]string // after a crash with syncDirs
	}{
		{
			name:  "create of a synced file is lost without SyncDir",
			setup: map[string]string{"/d/a": "A"},
			action: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/d/new", "data", true)
			},
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/new": missing, "/d/a": "A"},
			synced:   map[string]string{"/d/new": "data", "/d/a": "A"},
		},
		{
			name:     "rename reverts",
			setup:    map[string]string{"/d/a": "A"},
			action:   func(t *testing.T, m *MemFS) { must(t, m.Rename("/d/a", "/d/b")) },
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/a": "A", "/d/b": missing},
			synced:   map[string]string{"/d/a": missing, "/d/b": "A"},
		},
		{
			name:     "rename over a target reverts to the old target",
			setup:    map[string]string{"/d/a": "A", "/d/b": "B"},
			action:   func(t *testing.T, m *MemFS) { must(t, m.Rename("/d/a", "/d/b")) },
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/a": "A", "/d/b": "B"},
			synced:   map[string]string{"/d/a": missing, "/d/b": "A"},
		},
		{
			name:     "cross-directory rename needs both directories",
			setup:    map[string]string{"/d/a": "A", "/e/x": "X"},
			action:   func(t *testing.T, m *MemFS) { must(t, m.Rename("/d/a", "/e/a")) },
			syncDirs: []string{"/d", "/e"},
			unsynced: map[string]string{"/d/a": "A", "/e/a": missing},
			synced:   map[string]string{"/d/a": missing, "/e/a": "A"},
		},
		{
			name:     "remove reverts",
			setup:    map[string]string{"/d/a": "A"},
			action:   func(t *testing.T, m *MemFS) { must(t, m.Remove("/d/a")) },
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/a": "A"},
			synced:   map[string]string{"/d/a": missing},
		},
		{
			name:     "remove all reverts",
			setup:    map[string]string{"/d/sub/a": "A", "/d/sub/deeper/b": "B"},
			action:   func(t *testing.T, m *MemFS) { must(t, m.RemoveAll("/d/sub")) },
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/sub/a": "A", "/d/sub/deeper/b": "B"},
			synced:   map[string]string{"/d/sub/a": missing, "/d/sub/deeper/b": missing},
		},
		{
			name:  "new directory needs its parent synced",
			setup: map[string]string{"/d/a": "A"},
			action: func(t *testing.T, m *MemFS) {
				must(t, m.MkdirAll("/d/p-0", 0o755))
				writeFile(t, m, "/d/p-0/seg", "S", true)
				must(t, m.SyncDir("/d/p-0")) // not enough on its own
			},
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/p-0/seg": missing},
			synced:   map[string]string{"/d/p-0/seg": "S"},
		},
		{
			name:  "durable name with un-synced data comes back empty",
			setup: map[string]string{"/d/a": "A"},
			action: func(t *testing.T, m *MemFS) {
				writeFile(t, m, "/d/n", "never synced", false)
			},
			syncDirs: []string{"/d"},
			unsynced: map[string]string{"/d/n": missing},
			synced:   map[string]string{"/d/n": ""}, // strict crash: name only
		},
	}
	check := func(t *testing.T, c *MemFS, want map[string]string, what string) {
		t.Helper()
		for p, w := range want {
			got, ok := content(t, c, p)
			switch {
			case w == missing && ok:
				t.Fatalf("%s: %s exists (%q), want missing", what, p, got)
			case w != missing && !ok:
				t.Fatalf("%s: %s missing, want %q", what, p, w)
			case w != missing && got != w:
				t.Fatalf("%s: %s = %q, want %q", what, p, got, w)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			for _, p := range slices.Sorted(maps.Keys(tc.setup)) {
				durableFile(t, m, p, tc.setup[p])
			}
			tc.action(t, m)
			check(t, m.CrashCloneStrict(), tc.unsynced, "strict crash, no SyncDir")
			for seed := range 100 {
				c := m.CrashClone(seeded(seed))
				for p, w := range tc.unsynced {
					// Torn data may apply; presence must match exactly.
					if _, ok := content(t, c, p); ok != (w != missing) {
						t.Fatalf("seed %d: %s present=%v, want %v", seed, p, ok, w != missing)
					}
				}
			}
			for _, d := range tc.syncDirs {
				must(t, m.SyncDir(d))
			}
			check(t, m.CrashCloneStrict(), tc.synced, "strict crash after SyncDir")
		})
	}
}

// checkpointStep is one step of writing a checkpoint file.
type checkpointStep struct {
	name string
	do   func(t *testing.T, m *MemFS, f *File)
}

// runCheckpoint performs steps on a MemFS whose /ckpt/CHECKPOINT durably
// holds old, and crashes after every step (strict, random, random with
// DirOps). It returns every content CHECKPOINT had after a crash, and the
// contents after a strict crash at the end.
func runCheckpoint(t *testing.T, old string, steps []checkpointStep) (outcomes map[string]bool, final string) {
	m := NewMem()
	durableFile(t, m, "/ckpt/CHECKPOINT", old)
	outcomes = map[string]bool{}
	crashAll := func(after string) {
		clones := []*MemFS{m.CrashCloneStrict()}
		for seed := range 200 {
			clones = append(clones,
				m.CrashClone(seeded(seed)),
				m.CrashCloneWith(CrashOptions{Rand: seeded(seed), DirOps: true}))
		}
		for _, c := range clones {
			got, ok := content(t, c, "/ckpt/CHECKPOINT")
			if !ok {
				got = "<missing>"
			}
			outcomes[got] = true
		}
	}
	var f File
	crashAll("start")
	for _, st := range steps {
		st.do(t, m, &f)
		crashAll(st.name)
	}
	final, _ = content(t, m.CrashCloneStrict(), "/ckpt/CHECKPOINT")
	return outcomes, final
}

var (
	stepCreate = checkpointStep{"create tmp", func(t *testing.T, m *MemFS, f *File) {
		var err error
		*f, err = m.Create("/ckpt/CHECKPOINT.tmp")
		must(t, err)
	}}
	stepWrite = checkpointStep{"write tmp", func(t *testing.T, m *MemFS, f *File) {
		for _, part := range []string{"new-", "checkpoint-", "contents"} {
			_, err := (*f).Write([]byte(part))
			must(t, err)
		}
	}}
	stepSync   = checkpointStep{"sync tmp", func(t *testing.T, m *MemFS, f *File) { must(t, (*f).Sync()) }}
	stepClose  = checkpointStep{"close tmp", func(t *testing.T, m *MemFS, f *File) { must(t, (*f).Close()) }}
	stepRename = checkpointStep{"rename", func(t *testing.T, m *MemFS, f *File) {
		must(t, m.Rename("/ckpt/CHECKPOINT.tmp", "/ckpt/CHECKPOINT"))
	}}
	stepSyncDir = checkpointStep{"syncdir", func(t *testing.T, m *MemFS, f *File) { must(t, m.SyncDir("/ckpt")) }}
)

// TestCrashAtomicCheckpoint: write tmp, Sync, Rename over the target,
// SyncDir leaves the old or the new checkpoint after a crash at any point
// (strict, random tears, random directory-op prefixes), never something
// else, and the new one once SyncDir returned. The broken variants show the
// model catches the classic mistakes.
func TestCrashAtomicCheckpoint(t *testing.T) {
	const oldC, newC = "old-checkpoint", "new-checkpoint-contents"
	tests := []struct {
		name       string
		steps      []checkpointStep
		wantAtomic bool   // only old or new ever observed
		wantFinal  string // after a strict crash at the end
	}{
		{"correct", []checkpointStep{stepCreate, stepWrite, stepSync, stepClose, stepRename, stepSyncDir}, true, newC},
		{"missing fsync of tmp can leave a torn checkpoint", []checkpointStep{stepCreate, stepWrite, stepClose, stepRename, stepSyncDir}, false, ""},
		{"missing SyncDir is not durable", []checkpointStep{stepCreate, stepWrite, stepSync, stepClose, stepRename}, true, oldC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outcomes, final := runCheckpoint(t, oldC, tc.steps)
			atomic := true
			for o := range outcomes {
				if o != oldC && o != newC {
					atomic = false
				}
			}
			if atomic != tc.wantAtomic {
				t.Fatalf("atomic = %v, want %v; outcomes %q", atomic, tc.wantAtomic, slices.Sorted(maps.Keys(outcomes)))
			}
			if final != tc.wantFinal {
				t.Fatalf("after a crash at the end: %q, want %q", final, tc.wantFinal)
			}
			if tc.wantAtomic && !(outcomes[oldC] && (outcomes[newC] || tc.wantFinal == oldC)) {
				t.Fatalf("outcomes %q lack old/new", slices.Sorted(maps.Keys(outcomes)))
			}
		})
	}
}

// TestCrashDirOpsArePrefixes: with DirOps a directory keeps a prefix of its
// un-synced changes, in order, and a rename within it stays atomic.
func TestCrashDirOpsArePrefixes(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/r", "R")
	writeFile(t, m, "/d/a", "", false)
	writeFile(t, m, "/d/b", "", false)
	must(t, m.Rename("/d/r", "/d/s"))
	writeFile(t, m, "/d/c", "", false)
	want := []string{"r", "a r", "a b r", "a b s", "a b c s"}
	seen := map[string]bool{}
	for seed := range seeds {
		c := m.CrashCloneWith(CrashOptions{Rand: seeded(seed), DirOps: true})
		ents, err := c.ReadDir("/d")
		must(t, err)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name)
		}
		got := strings.Join(names, " ")
		if !slices.Contains(want, got) {
			t.Fatalf("seed %d: listing %q not a prefix outcome of %q", seed, got, want)
		}
		seen[got] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("saw %v, want all of %q", seen, want)
	}
}

// TestCrashStrictKeepsOnlyDurable: the strict crash keeps the durable image
// and nothing else, deterministically.
func TestCrashStrictKeepsOnlyDurable(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/f", "synced")
	appendFile(t, m, "/d/f", "+more", false)
	writeFile(t, m, "/d/g", "new", true)
	must(t, m.MkdirAll("/d/h", 0o755))
	want := "/d/f \"synced\"\n"
	for range 3 {
		if got := dump(t, m.CrashCloneStrict(), "/d"); got != want {
			t.Fatalf("strict crash:\n%s\nwant:\n%s", got, want)
		}
	}
	if got := dump(t, m.CrashClone(nil), "/d"); got != want {
		t.Fatalf("CrashClone(nil):\n%s\nwant:\n%s", got, want)
	}
}

// TestCrashDeterministic: a seed fully determines the clone.
func TestCrashDeterministic(t *testing.T) {
	m := NewMem()
	for i := range 5 {
		durableFile(t, m, fmt.Sprintf("/t/p%d/seg", i), "head")
		appendFile(t, m, fmt.Sprintf("/t/p%d/seg", i), strings.Repeat("x", 50), false)
		writeFile(t, m, fmt.Sprintf("/t/p%d/new", i), "n", false)
	}
	distinct := map[string]bool{}
	for seed := range 20 {
		a := dump(t, m.CrashCloneWith(CrashOptions{Rand: seeded(seed), DirOps: true}), "/")
		b := dump(t, m.CrashCloneWith(CrashOptions{Rand: seeded(seed), DirOps: true}), "/")
		if a != b {
			t.Fatalf("seed %d gave two different clones:\n%s\n%s", seed, a, b)
		}
		distinct[a] = true
	}
	if len(distinct) < 2 {
		t.Fatal("20 seeds gave a single outcome")
	}
}

// TestCrashCloneIsIndependent: the original keeps working after a crash
// clone, the clone has no handles or locks and shares no memory with it.
func TestCrashCloneIsIndependent(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/f", "v1")
	lock, err := m.Lock("/d/LOCK")
	must(t, err)
	must(t, m.SyncDir("/d"))
	h, err := m.OpenReadWrite("/d/f")
	must(t, err)

	c := m.CrashCloneStrict()

	// The clone's lock is free although the original's is held.
	cl, err := c.Lock("/d/LOCK")
	must(t, err)
	must(t, cl.Close())
	if _, err := m.Lock("/d/LOCK"); err == nil {
		t.Fatal("original lost its lock")
	}
	// Writes through the old handle and to the original don't reach the clone.
	_, err = h.WriteAt([]byte("XX"), 0)
	must(t, err)
	must(t, h.Sync())
	wantContent(t, c, "/d/f", "v1")
	wantContent(t, m, "/d/f", "XX")
	// And the clone's changes don't reach the original.
	writeFile(t, c, "/d/f", "clone", true)
	writeFile(t, c, "/d/only-in-clone", "", true)
	wantContent(t, m, "/d/f", "XX")
	wantMissing(t, m, "/d/only-in-clone")
	// The clone is a full MemFS that can crash again.
	must(t, c.SyncDir("/d"))
	wantContent(t, c.CrashCloneStrict(), "/d/only-in-clone", "")
	must(t, h.Close())
	must(t, lock.Close())
}

// TestCrashKeepsUnlinkedFileContent: a durable file that was removed
// (un-synced) comes back with its durable content plus a prefix of later
// writes done through a still-open handle.
func TestCrashKeepsUnlinkedFileContent(t *testing.T) {
	m := NewMem()
	durableFile(t, m, "/d/f", "abc")
	h, err := m.OpenReadWrite("/d/f")
	must(t, err)
	must(t, m.Remove("/d/f"))
	_, err = h.WriteAt([]byte("Z"), 3)
	must(t, err)
	must(t, h.Sync())
	wantContent(t, m.CrashCloneStrict(), "/d/f", "abcZ")
	must(t, h.Close())
}

// TestMemSyncAll makes a whole fixture durable in one call.
func TestMemSyncAll(t *testing.T) {
	m := NewMem()
	must(t, m.MkdirAll("/a/b", 0o755))
	writeFile(t, m, "/a/b/c", "deep", false)
	writeFile(t, m, "/top", "t", false)
	m.SyncAll()
	c := m.CrashCloneStrict()
	wantContent(t, c, "/a/b/c", "deep")
	wantContent(t, c, "/top", "t")
}

// TestMemConcurrent: many goroutines appending and syncing their own
// segments while others crash-clone and list; run with -race. Every
// acknowledged (synced) record must be in every later clone.
func TestMemConcurrent(t *testing.T) {
	m := NewMem()
	must(t, m.MkdirAll("/data", 0o755))
	must(t, m.SyncDir("/"))
	const writers, records = 8, 50
	var wg sync.WaitGroup
	var acked sync.Map // name -> synced length
	for w := range writers {
		name := fmt.Sprintf("/data/seg-%d", w)
		f, err := m.Create(name)
		must(t, err)
		must(t, m.SyncDir("/data"))
		wg.Go(func() {
			defer f.Close()
			for i := range records {
				if _, err := f.Write([]byte(fmt.Sprintf("%04d", i))); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 4 {
					if err := f.Sync(); err != nil {
						t.Error(err)
						return
					}
					acked.Store(name, 4*(i+1))
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for seed := 0; ; seed++ {
			select {
			case <-stop:
				return
			default:
			}
			before := map[string]int{}
			acked.Range(func(k, v any) bool { before[k.(string)] = v.(int); return true })
			c := m.CrashClone(seeded(seed))
			for name, n := range before {
				got, ok := content(t, c, name)
				if !ok || len(got) < n {
					t.Errorf("clone lost acknowledged data of %s: have %d bytes, acked %d", name, len(got), n)
					return
				}
			}
			if _, err := m.ReadDir("/data"); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	for w := range writers {
		var want strings.Builder
		for i := range records {
			fmt.Fprintf(&want, "%04d", i)
		}
		wantContent(t, m.CrashCloneStrict(), fmt.Sprintf("/data/seg-%d", w), want.String())
	}
}
