package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(lockHelperEnv) != "" {
		os.Exit(lockHelper())
	}
	goleak.VerifyTestMain(m)
}

// fsCase builds an FS and a directory inside it to work in.
type fsCase struct {
	name string
	make func(t *testing.T) (FS, string)
}

var allFS = []fsCase{
	{"os", func(t *testing.T) (FS, string) { return NewOS(), t.TempDir() }},
	{"mem", func(t *testing.T) (FS, string) {
		m := NewMem()
		if err := m.MkdirAll("/data", 0o755); err != nil {
			t.Fatal(err)
		}
		return m, "/data"
	}},
}

// fataler is what must needs; *testing.T and *rapid.T both have it.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func must(t fataler, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeFile creates name with data, optionally syncs it, and closes it.
func writeFile(t testing.TB, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.Create(name)
	must(t, err)
	_, err = f.Write([]byte(data))
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	must(t, f.Close())
}

// appendFile appends data to an existing or new file, optionally syncing.
func appendFile(t testing.TB, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.OpenReadWrite(name)
	must(t, err)
	_, err = f.Seek(0, 2)
	must(t, err)
	_, err = f.Write([]byte(data))
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	must(t, f.Close())
}

// content returns the file's content, or ok=false if it does not exist.
func content(t testing.TB, fsys FS, name string) (string, bool) {
	t.Helper()
	b, err := ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	must(t, err)
	return string(b), true
}

func wantContent(t testing.TB, fsys FS, name, want string) {
	t.Helper()
	got, ok := content(t, fsys, name)
	if !ok {
		t.Fatalf("%s: missing, want %q", name, want)
	}
	if got != want {
		t.Fatalf("%s = %q, want %q", name, got, want)
	}
}

func wantMissing(t testing.TB, fsys FS, name string) {
	t.Helper()
	if got, ok := content(t, fsys, name); ok {
		t.Fatalf("%s exists with %q, want it missing", name, got)
	}
}

// dump renders a whole tree with contents, for equality checks.
func dump(t testing.TB, fsys FS, dir string) string {
	t.Helper()
	var b strings.Builder
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := fsys.ReadDir(dir)
		must(t, err)
		for _, e := range ents {
			p := fsys.PathJoin(dir, e.Name)
			if e.IsDir {
				fmt.Fprintf(&b, "%s/\n", p)
				walk(p)
				continue
			}
			c, _ := content(t, fsys, p)
			fmt.Fprintf(&b, "%s %q\n", p, c)
		}
	}
	walk(dir)
	return b.String()
}
