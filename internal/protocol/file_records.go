package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// FileRecords is a record set that stays in a file until the message
// carrying it is written, so that a fetch never copies stored batches
// through user space: the server sends them with sendfile, or reads them
// straight into the frame where the file has no descriptor.
//
// Every generated records field (Records, UnalignedRecords) has a
// companion <Name>File. In responses (requests are always in memory), when set, encoding writes the field's length
// prefix and leaves its bytes out of the buffer. EncodeResponse returns
// the frame without them, its size prefix counting them, and the
// FileRecords in frame order, each knowing where its bytes go (Offset).
type FileRecords struct {
	// File holds the bytes at [Pos, Pos+Len).
	File io.ReaderAt
	// OS is File's descriptor for sendfile; nil when it has none.
	OS  *os.File
	Pos int64
	Len int32
	// Release is called once, by Done, when the bytes have been sent or
	// dropped (it lets go of the segment file).
	Release func()

	at int // where the bytes belong in the encoded frame; -1 until encoded
}

// ErrShortFile is returned when a file holds fewer bytes than a
// FileRecords promised (the file was truncated since the read).
var ErrShortFile = errors.New("protocol: file records truncated")

// Offset returns where r's bytes belong in the frame EncodeResponse
// returned (counted from the frame's first byte, the size prefix).
func (r *FileRecords) Offset() int { return r.at }

// Done releases r's file, once.
func (r *FileRecords) Done() {
	if r.Release != nil {
		r.Release()
		r.Release = nil
	}
}

// ReadAt reads len(b) of r's bytes from offset off within r.
func (r *FileRecords) ReadAt(b []byte, off int64) error {
	if off < 0 || off+int64(len(b)) > int64(r.Len) {
		return fmt.Errorf("read %d bytes at %d of %d file record bytes: out of range", len(b), off, r.Len)
	}
	return (&FileRecords{File: r.File, Pos: r.Pos + off}).readInto(b)
}

// ReleaseFiles releases every FileRecords m carries.
func ReleaseFiles(m Message) {
	if fc, ok := m.(fileCarrier); ok {
		for _, f := range fc.appendFiles(nil) {
			f.Done()
		}
	}
}

// ReadAll reads r's bytes.
func (r *FileRecords) ReadAll() ([]byte, error) {
	b := make([]byte, r.Len)
	if err := r.readInto(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (r *FileRecords) readInto(b []byte) error {
	n, err := r.File.ReadAt(b, r.Pos)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = ErrShortFile
	}
	return fmt.Errorf("read %d bytes at %d: %w", len(b), r.Pos, err)
}

// appendTo writes the length prefix of a records field holding r and
// notes where r's bytes go. A file record set is never null.
func (r *FileRecords) appendTo(dst []byte, compact bool) []byte {
	dst = appendLen(dst, int(r.Len), compact, true)
	r.at = len(dst)
	return dst
}

// fileCarrier is implemented by the messages whose records fields may be
// given as FileRecords; it lists them in encoding order.
type fileCarrier interface {
	appendFiles(dst []*FileRecords) []*FileRecords
}

// EncodeResponse appends a whole response frame (size prefix, header,
// body) to dst, like AppendResponse, except that the bytes of the
// message's FileRecords are left out: files lists them in frame order,
// each with its Offset in the returned frame (frame = dst[len(dst):] as
// passed), and the size prefix counts them. Nothing is released.
func EncodeResponse(dst []byte, m Message, version int16, correlationID int32) (frame []byte, files []*FileRecords) {
	fc, ok := m.(fileCarrier)
	if ok {
		files = fc.appendFiles(nil)
	}
	start := len(dst)
	for _, f := range files {
		f.at = -1
	}
	dst, pos := BeginFrame(dst)
	dst = AppendResponseHeader(dst, correlationID, ResponseHeaderVersion(m.APIKey(), version))
	dst = m.AppendTo(dst, version)
	dst = FinishFrame(dst, pos)
	if len(files) == 0 {
		return dst[start:], nil
	}
	// Fields absent at this version were not written: drop their files.
	kept := files[:0]
	var extra int64
	for _, f := range files {
		if f.at >= 0 {
			f.at -= start
			kept = append(kept, f)
			extra += int64(f.Len)
		}
	}
	frame = dst[start:]
	size := int64(binary.BigEndian.Uint32(frame)) + extra
	binary.BigEndian.PutUint32(frame, uint32(size))
	return frame, kept
}

// appendFiles lists the FileRecords of a FetchResponse.
func (m *FetchResponse) appendFiles(dst []*FileRecords) []*FileRecords {
	for i := range m.Responses {
		ps := m.Responses[i].Partitions
		for j := range ps {
			if ps[j].RecordsFile != nil {
				dst = append(dst, ps[j].RecordsFile)
			}
		}
	}
	return dst
}

// appendFiles lists the FileRecords of a FetchSnapshotResponse.
func (m *FetchSnapshotResponse) appendFiles(dst []*FileRecords) []*FileRecords {
	for i := range m.Topics {
		ps := m.Topics[i].Partitions
		for j := range ps {
			if ps[j].UnalignedRecordsFile != nil {
				dst = append(dst, ps[j].UnalignedRecordsFile)
			}
		}
	}
	return dst
}

// appendFiles lists the FileRecords of a ShareFetchResponse.
func (m *ShareFetchResponse) appendFiles(dst []*FileRecords) []*FileRecords {
	for i := range m.Responses {
		ps := m.Responses[i].Partitions
		for j := range ps {
			if ps[j].RecordsFile != nil {
				dst = append(dst, ps[j].RecordsFile)
			}
		}
	}
	return dst
}

// RecordsLen returns the length of the partition's records, in memory or
// in a file.
func (m *FetchResponsePartitionData) RecordsLen() int {
	if m.RecordsFile != nil {
		return int(m.RecordsFile.Len)
	}
	return len(m.Records)
}

// LoadFiles reads every FileRecords of m into its Records field and
// releases it (for in-process callers and tests that want plain bytes).
func (m *FetchResponse) LoadFiles() error {
	var first error
	for i := range m.Responses {
		ps := m.Responses[i].Partitions
		for j := range ps {
			f := ps[j].RecordsFile
			if f == nil {
				continue
			}
			b, err := f.ReadAll()
			f.Done()
			if err != nil && first == nil {
				first = err
			}
			ps[j].Records, ps[j].RecordsFile = b, nil
		}
	}
	return first
}
