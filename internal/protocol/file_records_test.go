package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fetchWithRecords builds a FetchResponse of two topics whose partitions
// hold the given record sets (nil: no records).
func fetchWithRecords(sets ...[]byte) *FetchResponse {
	resp := &FetchResponse{}
	for t := 0; t < 2; t++ {
		var topic FetchResponseFetchableTopicResponse
		topic.Default()
		topic.Topic = strings.Repeat("t", t+1)
		for i, s := range sets {
			var p FetchResponsePartitionData
			p.Default()
			p.PartitionIndex = int32(i)
			p.HighWatermark = int64(100 * i)
			p.Records = s
			topic.Partitions = append(topic.Partitions, p)
		}
		resp.Responses = append(resp.Responses, topic)
	}
	return resp
}

// TestEncodeResponseSplicesToAppendResponse checks that a FetchResponse
// whose records stay in a file encodes, once its file bytes are spliced
// in, to exactly the bytes of the same response held in memory, at every
// version (classic and compact lengths alike).
func TestEncodeResponseSplicesToAppendResponse(t *testing.T) {
	file := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB "segment"
	sets := [][]byte{file[10:300], nil, file[0:1], file[500:1024]}
	lo, hi := (&FetchResponse{}).Versions()
	for v := lo; v <= hi; v++ {
		want := AppendResponse([]byte("prefix"), fetchWithRecords(sets...), v, 42)

		resp := fetchWithRecords(sets...)
		released := 0
		for ti := range resp.Responses {
			for pi := range resp.Responses[ti].Partitions {
				p := &resp.Responses[ti].Partitions[pi]
				if p.Records == nil {
					continue
				}
				pos := bytes.Index(file, p.Records)
				p.RecordsFile = &FileRecords{File: bytes.NewReader(file), Pos: int64(pos), Len: int32(len(p.Records)), Release: func() { released++ }}
				p.Records = nil
			}
		}
		frame, files := EncodeResponse([]byte("prefix"), resp, v, 42)
		if len(files) != 6 {
			t.Fatalf("v%d: %d files, want 6", v, len(files))
		}
		for i := 1; i < len(files); i++ {
			if files[i].Offset() <= files[i-1].Offset() {
				t.Fatalf("v%d: files out of frame order: %d then %d", v, files[i-1].Offset(), files[i].Offset())
			}
		}
		got, err := spliceFiles([]byte("prefix"), frame, files)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: spliced frame differs from the in-memory one\n got %x\nwant %x", v, got, want)
		}
		if released != 0 {
			t.Fatalf("v%d: encoding released %d files", v, released)
		}
		for _, f := range files {
			f.Done()
			f.Done()
		}
		if released != 6 {
			t.Fatalf("v%d: Done twice on 6 files released %d times, want 6", v, released)
		}
	}
}

func TestSpliceFilesShortFile(t *testing.T) {
	resp := fetchWithRecords([]byte("x"))
	resp.Responses = resp.Responses[:1]
	p := &resp.Responses[0].Partitions[0]
	p.Records = nil
	p.RecordsFile = &FileRecords{File: bytes.NewReader([]byte("abc")), Pos: 2, Len: 5}
	frame, files := EncodeResponse(nil, resp, 12, 1)
	if _, err := spliceFiles(nil, frame, files); !errors.Is(err, ErrShortFile) {
		t.Fatalf("splice of a truncated file: err = %v, want ErrShortFile", err)
	}
}

func TestLoadFiles(t *testing.T) {
	resp := fetchWithRecords([]byte("x"))
	p := &resp.Responses[1].Partitions[0]
	released := false
	p.Records = nil
	p.RecordsFile = &FileRecords{File: bytes.NewReader([]byte("abcdef")), Pos: 1, Len: 3, Release: func() { released = true }}
	if p.RecordsLen() != 3 {
		t.Fatalf("RecordsLen = %d, want 3", p.RecordsLen())
	}
	if err := resp.LoadFiles(); err != nil {
		t.Fatal(err)
	}
	if string(p.Records) != "bcd" || p.RecordsFile != nil || !released {
		t.Fatalf("after LoadFiles: records %q, file %v, released %v", p.Records, p.RecordsFile, released)
	}
}

func TestAppendResponseRefusesFiles(t *testing.T) {
	resp := fetchWithRecords([]byte("x"))
	resp.Responses[0].Partitions[0].RecordsFile = &FileRecords{File: bytes.NewReader(nil)}
	defer func() {
		if recover() == nil {
			t.Fatal("AppendResponse encoded a response with FileRecords")
		}
	}()
	AppendResponse(nil, resp, 12, 1)
}

// TestEveryFileFieldIsListed checks that every response type with a
// FileRecords field somewhere inside lists its files, so that no
// encoding can write a length prefix without the bytes behind it.
func TestEveryFileFieldIsListed(t *testing.T) {
	fileType := reflect.TypeFor[*FileRecords]()
	var hasFile func(reflect.Type, map[reflect.Type]bool) bool
	hasFile = func(t reflect.Type, seen map[reflect.Type]bool) bool {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			if t == fileType {
				return true
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return false
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			if hasFile(t.Field(i).Type, seen) {
				return true
			}
		}
		return false
	}
	found := 0
	for key := APIKey(0); key < 100; key++ {
		m := NewResponse(key)
		if m == nil || !hasFile(reflect.TypeOf(m), map[reflect.Type]bool{}) {
			continue
		}
		found++
		if _, ok := m.(fileCarrier); !ok {
			t.Errorf("%T has a FileRecords field but does not list its files", m)
		}
	}
	if found < 3 {
		t.Fatalf("found %d responses with FileRecords fields, want at least 3 (Fetch, FetchSnapshot, ShareFetch)", found)
	}
}

// spliceFiles is the frame EncodeResponse returned with the bytes of files
// read in at their offsets: what a client receives.
func spliceFiles(dst, frame []byte, files []*FileRecords) ([]byte, error) {
	prev := 0
	for _, f := range files {
		dst = append(dst, frame[prev:f.Offset()]...)
		b, err := f.ReadAll()
		if err != nil {
			return dst, err
		}
		dst = append(dst, b...)
		prev = f.Offset()
	}
	return append(dst, frame[prev:]...), nil
}
