package vfs

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// The model is deliberately naive and shares no code with MemFS: files are
// inodes with a durable image, a list of un-synced operations and a live
// image; two directories map names to inode numbers, live and durable.

type mOp struct {
	off   int // write offset or truncation size
	data  []byte
	trunc bool
}

type mInode struct {
	durable []byte
	pending []mOp
	live    []byte
}

func mApply(buf []byte, op mOp) []byte {
	out := slices.Clone(buf)
	if op.trunc {
		if op.off <= len(out) {
			return out[:op.off]
		}
		for len(out) < op.off {
			out = append(out, 0)
		}
		return out
	}
	for len(out) < op.off {
		out = append(out, 0)
	}
	for i, b := range op.data {
		if op.off+i < len(out) {
			out[op.off+i] = b
		} else {
			out = append(out, b)
		}
	}
	return out
}

func (in *mInode) do(op mOp) {
	in.live = mApply(in.live, op)
	in.pending = append(in.pending, op)
}

// outcomes is every content a crash may leave: durable, then each prefix
// of the pending operations, plus each tear of the next write.
func (in *mInode) outcomes() map[string]bool {
	res := map[string]bool{}
	cur := in.durable
	for k := 0; ; k++ {
		res[string(cur)] = true
		if k == len(in.pending) {
			return res
		}
		op := in.pending[k]
		if !op.trunc {
			for cut := 1; cut < len(op.data); cut++ {
				res[string(mApply(cur, mOp{off: op.off, data: op.data[:cut]}))] = true
			}
		}
		cur = mApply(cur, op)
	}
}

var (
	modelDirs  = []string{"/d", "/e"}
	modelPaths = []string{"/d/a", "/d/b", "/d/c", "/e/a", "/e/b"}
)

type model struct {
	inodes  []*mInode
	live    map[string]map[string]int // dir -> name -> inode
	durable map[string]map[string]int
}

func (md *model) lookup(p string) (*mInode, bool) {
	id, ok := md.live[path.Dir(p)][path.Base(p)]
	if !ok {
		return nil, false
	}
	return md.inodes[id], true
}

// openRW mirrors OpenReadWrite: creates the file if missing.
func (md *model) openRW(p string) *mInode {
	if in, ok := md.lookup(p); ok {
		return in
	}
	md.inodes = append(md.inodes, &mInode{})
	md.live[path.Dir(p)][path.Base(p)] = len(md.inodes) - 1
	return md.inodes[len(md.inodes)-1]
}

type modelTest struct {
	m  *MemFS
	e  *ErrorFS
	md *model
}

func newModelTest(t *rapid.T) *modelTest {
	mt := &modelTest{m: NewMem(), md: &model{live: map[string]map[string]int{}, durable: map[string]map[string]int{}}}
	for _, d := range modelDirs {
		must(t, mt.m.MkdirAll(d, 0o755))
		mt.md.live[d] = map[string]int{}
		mt.md.durable[d] = map[string]int{}
	}
	must(t, mt.m.SyncDir("/"))
	mt.e = WithErrors(mt.m)
	return mt
}

// expectNotExist checks a call that the model says fails with ENOENT.
func expectNotExist(t *rapid.T, err error, what string) {
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s on a missing file: %v, want ErrNotExist", what, err)
	}
}

func (mt *modelTest) actions() map[string]func(*rapid.T) {
	drawPath := func(t *rapid.T, label string) string {
		return rapid.SampledFrom(modelPaths).Draw(t, label)
	}
	drawData := func(t *rapid.T) []byte {
		return rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "data")
	}
	return map[string]func(*rapid.T){
		"create": func(t *rapid.T) {
			p := drawPath(t, "path")
			f, err := mt.e.Create(p)
			must(t, err)
			must(t, f.Close())
			if in, ok := mt.md.lookup(p); ok {
				in.do(mOp{off: 0, trunc: true})
			} else {
				mt.md.openRW(p)
			}
		},
		"writeAt": func(t *rapid.T) {
			p := drawPath(t, "path")
			in := mt.md.openRW(p)
			off := rapid.IntRange(0, len(in.live)+3).Draw(t, "off")
			data := drawData(t)
			f, err := mt.e.OpenReadWrite(p)
			must(t, err)
			_, err = f.WriteAt(data, int64(off))
			must(t, err)
			must(t, f.Close())
			in.do(mOp{off: off, data: data})
		},
		"append": func(t *rapid.T) {
			p := drawPath(t, "path")
			in := mt.md.openRW(p)
			data := drawData(t)
			f, err := mt.e.OpenReadWrite(p)
			must(t, err)
			_, err = f.Seek(0, 2)
			must(t, err)
			_, err = f.Write(data)
			must(t, err)
			must(t, f.Close())
			in.do(mOp{off: len(in.live), data: data})
		},
		"truncate": func(t *rapid.T) {
			p := drawPath(t, "path")
			in := mt.md.openRW(p)
			size := rapid.IntRange(0, len(in.live)+3).Draw(t, "size")
			f, err := mt.e.OpenReadWrite(p)
			must(t, err)
			must(t, f.Truncate(int64(size)))
			must(t, f.Close())
			in.do(mOp{off: size, trunc: true})
		},
		"sync": func(t *rapid.T) {
			p := drawPath(t, "path")
			f, err := mt.e.Open(p)
			in, ok := mt.md.lookup(p)
			if !ok {
				expectNotExist(t, err, "Open")
				return
			}
			must(t, err)
			must(t, f.Sync())
			must(t, f.Close())
			for _, op := range in.pending {
				in.durable = mApply(in.durable, op)
			}
			in.pending = nil
		},
		"failedSync": func(t *rapid.T) {
			p := drawPath(t, "path")
			in, ok := mt.md.lookup(p)
			if !ok {
				t.Skip("no file")
			}
			f, err := mt.e.Open(p)
			must(t, err)
			mt.e.Inject(Rule{Ops: OpSync, Path: PathIs(p), Limit: 1})
			if err := f.Sync(); !errors.Is(err, ErrInjected) {
				t.Fatalf("Sync = %v, want injected error", err)
			}
			must(t, f.Close())
			in.pending = nil // lost for good; live unchanged
		},
		"rename": func(t *rapid.T) {
			from, to := drawPath(t, "from"), drawPath(t, "to")
			err := mt.e.Rename(from, to)
			id, ok := mt.md.live[path.Dir(from)][path.Base(from)]
			if !ok {
				expectNotExist(t, err, "Rename")
				return
			}
			must(t, err)
			if dst, ok := mt.md.live[path.Dir(to)][path.Base(to)]; from == to || (ok && dst == id) {
				return // same name, or two links to one file: no-op
			}
			delete(mt.md.live[path.Dir(from)], path.Base(from))
			mt.md.live[path.Dir(to)][path.Base(to)] = id
		},
		"remove": func(t *rapid.T) {
			p := drawPath(t, "path")
			err := mt.e.Remove(p)
			if _, ok := mt.md.lookup(p); !ok {
				expectNotExist(t, err, "Remove")
				return
			}
			must(t, err)
			delete(mt.md.live[path.Dir(p)], path.Base(p))
		},
		"syncDir": func(t *rapid.T) {
			d := rapid.SampledFrom(modelDirs).Draw(t, "dir")
			must(t, mt.e.SyncDir(d))
			mt.md.durable[d] = maps.Clone(mt.md.live[d])
		},
		"crashStrict": func(t *rapid.T) {
			mt.checkCrash(t, mt.m.CrashCloneStrict(), true)
		},
		"crashRandom": func(t *rapid.T) {
			seed := rapid.Uint64().Draw(t, "seed")
			mt.checkCrash(t, mt.m.CrashClone(rand.New(rand.NewPCG(seed, 1))), false)
		},
		"restartAfterCrash": func(t *rapid.T) {
			seed := rapid.Uint64().Draw(t, "seed")
			c := mt.m.CrashClone(rand.New(rand.NewPCG(seed, 2)))
			mt.checkCrash(t, c, false)
			// Adopt the clone: the model's durable state, with each
			// surviving inode's content as recovered.
			recovered := map[int][]byte{}
			for _, d := range modelDirs {
				for name, id := range mt.md.durable[d] {
					b, err := ReadFile(c, path.Join(d, name))
					must(t, err)
					recovered[id] = b
				}
				mt.md.live[d] = maps.Clone(mt.md.durable[d])
			}
			for id, b := range recovered {
				mt.md.inodes[id] = &mInode{durable: b, live: slices.Clone(b)}
			}
			mt.m = c
			mt.e = WithErrors(c)
		},
		"": func(t *rapid.T) { mt.checkLive(t) },
	}
}

// checkLive compares the running FS with the model's live state.
func (mt *modelTest) checkLive(t *rapid.T) {
	for _, d := range modelDirs {
		ents, err := mt.m.ReadDir(d)
		must(t, err)
		names := slices.Sorted(maps.Keys(mt.md.live[d]))
		if len(ents) != len(names) {
			t.Fatalf("ReadDir(%s) = %v, model has %v", d, ents, names)
		}
		for i, e := range ents {
			in := mt.md.inodes[mt.md.live[d][names[i]]]
			if e.Name != names[i] || e.IsDir || e.Size != int64(len(in.live)) {
				t.Fatalf("ReadDir(%s)[%d] = %+v, model has %s size %d", d, i, e, names[i], len(in.live))
			}
			got, err := ReadFile(mt.m, path.Join(d, e.Name))
			must(t, err)
			if !bytes.Equal(got, in.live) {
				t.Fatalf("%s/%s = %q, model %q", d, e.Name, got, in.live)
			}
		}
	}
}

// checkCrash compares a crash clone with the model's durable state: the
// same names, and per file exactly the durable image (strict) or one of
// the allowed outcomes.
func (mt *modelTest) checkCrash(t *rapid.T, c *MemFS, strict bool) {
	for _, d := range modelDirs {
		ents, err := c.ReadDir(d)
		must(t, err)
		names := slices.Sorted(maps.Keys(mt.md.durable[d]))
		if len(ents) != len(names) {
			t.Fatalf("after crash ReadDir(%s) = %v, durable listing %v", d, ents, names)
		}
		for i, e := range ents {
			if e.Name != names[i] {
				t.Fatalf("after crash ReadDir(%s) = %v, durable listing %v", d, ents, names)
			}
			in := mt.md.inodes[mt.md.durable[d][e.Name]]
			got, err := ReadFile(c, path.Join(d, e.Name))
			must(t, err)
			if strict && !bytes.Equal(got, in.durable) {
				t.Fatalf("strict crash: %s/%s = %q, durable %q", d, e.Name, got, in.durable)
			}
			if !strict && !in.outcomes()[string(got)] {
				t.Fatalf("crash: %s/%s = %q, not an allowed outcome of durable %q + %d pending ops",
					d, e.Name, got, in.durable, len(in.pending))
			}
		}
	}
	l, err := c.Lock("/LOCK") // outside the modelled directories
	if err != nil {
		t.Fatalf("clone has a held lock: %v", err)
	}
	must(t, l.Close())
}

// TestMemMatchesModel runs random sequences of file and directory
// operations, syncs, failed syncs, crashes and restarts against MemFS and
// the model above.
func TestMemMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mt := newModelTest(t)
		t.Repeat(mt.actions())
	})
}
