package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// Kafka's text checkpoint files. Every one has the same shape:
//
//	<version>\n
//	<number of entries>\n
//	<entry>\n          one line per entry, fields separated by one space
//	...
//
// Files are replaced atomically (WriteFileAtomic): a crash leaves the old
// or the new complete file, never a mix. Readers are strict: anything but
// the exact shape a writer produces is reported as an error wrapping
// ErrCorruptCheckpoint, and the caller decides what that means (for the
// recovery point: recover the whole log; for the high watermark: start
// from 0; ...). A missing file is not corruption: the error from the file
// system, which satisfies errors.Is(err, fs.ErrNotExist), is returned
// unchanged so callers can treat the file as empty.

// File names of the checkpoints of a log directory and of a partition
// directory (leader-epoch-checkpoint), as Kafka names them.
const (
	RecoveryPointCheckpointFile     = "recovery-point-offset-checkpoint"
	LogStartOffsetCheckpointFile    = "log-start-offset-checkpoint"
	ReplicationOffsetCheckpointFile = "replication-offset-checkpoint"
	CleanerOffsetCheckpointFile     = "cleaner-offset-checkpoint"
	LeaderEpochCheckpointFile       = "leader-epoch-checkpoint"
)

// CheckpointVersion is the only version of the offset and leader-epoch
// checkpoint formats (Kafka's CURRENT_VERSION of both).
const CheckpointVersion = 0

// MaxCheckpointSize bounds what a checkpoint reader reads: a larger file
// is corrupt. Nothing is ever allocated from a count stored in a file.
const MaxCheckpointSize = 64 << 20

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// ErrCorruptCheckpoint is wrapped by every error that reports a checkpoint
// or metadata file (offset checkpoints, leader-epoch-checkpoint,
// partition.metadata, meta.properties, .kafka_cleanshutdown) whose content
// is not what a writer produces: bad version, entry count that does not
// match, malformed line, negative offset, duplicate key, oversized file.
var ErrCorruptCheckpoint = errors.New("storage: corrupt checkpoint file")

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns Kafka's form "topic-partition" (also the name of the
// partition's directory).
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// Compare orders topic partitions by topic, then partition.
func (tp TopicPartition) Compare(o TopicPartition) int {
	if c := strings.Compare(tp.Topic, o.Topic); c != 0 {
		return c
	}
	return cmp.Compare(tp.Partition, o.Partition)
}

// ---------------------------------------------------------------------------
// Atomic replacement.

// WriteFileAtomic replaces name with data so that a crash at any point
// leaves either the previous complete file (or no file, if there was none)
// or the new complete file: it writes name+".tmp", syncs it, renames it
// over name and syncs the parent directory. The new content is durable
// once WriteFileAtomic returns nil.
//
// On error the previous content is intact on disk, except when the final
// SyncDir fails: then the rename has happened (readers see the new
// content) but is not known to be durable, and a crash may bring back the
// old file. Either way the caller must treat the write as failed; calling
// WriteFileAtomic again is a correct retry because it rewrites and
// re-syncs everything. Writes of the same name must not run concurrently
// (they share the tmp file); the parent directory must already be durable.
func WriteFileAtomic(fsys vfs.FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, name)
	}
	if err != nil {
		// Best effort: a leftover tmp file is harmless (never read, and
		// truncated by the next write) but untidy.
		_ = fsys.Remove(tmp)
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	if err := fsys.SyncDir(fsys.PathDir(name)); err != nil {
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	return nil
}

// readFileBounded reads name whole if it is at most limit bytes long; a
// longer file is corrupt. Errors from the file system (fs.ErrNotExist in
// particular) are returned unchanged.
func readFileBounded(fsys vfs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, corruptf(name, "larger than %d bytes", limit)
	}
	return data, nil
}

// corruptf returns an error wrapping ErrCorruptCheckpoint.
func corruptf(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrCorruptCheckpoint, name, fmt.Sprintf(format, args...))
}

// ---------------------------------------------------------------------------
// Generic format.

// WriteCheckpoint atomically replaces the checkpoint file name with the
// given version and entries, each entry being its fields. A field must be
// non-empty and free of white space; anything else is a caller bug and is
// refused (nothing is written).
func WriteCheckpoint(fsys vfs.FS, name string, version int, entries [][]string) error {
	data, err := encodeCheckpoint(version, entries)
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	return WriteFileAtomic(fsys, name, data)
}

func encodeCheckpoint(version int, entries [][]string) ([]byte, error) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(version))
	b.WriteByte('\n')
	b.WriteString(strconv.Itoa(len(entries)))
	b.WriteByte('\n')
	for i, e := range entries {
		if len(e) == 0 {
			return nil, fmt.Errorf("checkpoint entry %d has no fields", i)
		}
		for j, field := range e {
			if !validCheckpointField(field) {
				return nil, fmt.Errorf("checkpoint entry %d field %d %q is empty or contains white space", i, j, field)
			}
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(field)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// validCheckpointField rejects what a reader splitting on white space
// (Kafka splits on \s+) could not get back.
func validCheckpointField(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return false
		}
	}
	return true
}

// ReadCheckpoint reads the checkpoint file name, which must have the given
// version and entries of exactly nfields fields each, and returns the
// entries' fields in file order.
//
// A zero-length file reads as no entries: Kafka creates its checkpoint
// files empty before their first write. Everything else must be exactly
// what WriteCheckpoint (or Kafka) writes: the version line, a count equal
// to the number of entry lines, fields separated by single spaces, every
// line terminated by '\n'. Violations return an error wrapping
// ErrCorruptCheckpoint; file-system errors (fs.ErrNotExist for a missing
// file) are returned unchanged.
func ReadCheckpoint(fsys vfs.FS, name string, version, nfields int) ([][]string, error) {
	data, err := readFileBounded(fsys, name, MaxCheckpointSize)
	if err != nil {
		return nil, err
	}
	return parseCheckpoint(name, data, version, nfields)
}

func parseCheckpoint(name string, data []byte, version, nfields int) ([][]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if data[len(data)-1] != '\n' {
		return nil, corruptf(name, "last line is not terminated")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if len(lines) < 2 {
		return nil, corruptf(name, "missing entry count line")
	}
	v, ok := parseCanonicalInt(lines[0], 32)
	if !ok {
		return nil, corruptf(name, "line 1: malformed version %q", lines[0])
	}
	if v != int64(version) {
		return nil, corruptf(name, "unsupported version %d, expected %d", v, version)
	}
	count, ok := parseCanonicalInt(lines[1], 32)
	if !ok || count < 0 {
		return nil, corruptf(name, "line 2: malformed entry count %q", lines[1])
	}
	if got := len(lines) - 2; count != int64(got) {
		return nil, corruptf(name, "entry count is %d but the file has %d entry lines", count, got)
	}
	entries := make([][]string, 0, len(lines)-2)
	for i, line := range lines[2:] {
		fields := strings.Split(line, " ")
		if len(fields) != nfields {
			return nil, corruptf(name, "line %d: %d fields, expected %d: %q", i+3, len(fields), nfields, line)
		}
		for _, f := range fields {
			if !validCheckpointField(f) {
				return nil, corruptf(name, "line %d: malformed entry %q", i+3, line)
			}
		}
		entries = append(entries, fields)
	}
	return entries, nil
}

// parseCanonicalInt parses a base-10 integer written the way
// strconv.FormatInt (and Java's toString) writes it: no sign on positive
// numbers, no leading zeros, no "-0".
func parseCanonicalInt(s string, bitSize int) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, bitSize)
	if err != nil || strconv.FormatInt(v, 10) != s {
		return 0, false
	}
	return v, true
}

// ---------------------------------------------------------------------------
// Offset checkpoints: "topic partition offset".

// validTopicName reports whether s is a legal Kafka topic name: 1 to 249
// characters from [a-zA-Z0-9._-], and neither "." nor "..".
func validTopicName(s string) bool {
	if s == "" || len(s) > maxTopicLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// WriteOffsetCheckpoint atomically replaces the offset checkpoint file
// name (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
// replication-offset-checkpoint, cleaner-offset-checkpoint) with offsets.
// Entries are written sorted by topic, then partition, so equal maps give
// byte-identical files. Invalid topic names, negative partitions and
// negative offsets are refused.
func WriteOffsetCheckpoint(fsys vfs.FS, name string, offsets map[TopicPartition]int64) error {
	keys := make([]TopicPartition, 0, len(offsets))
	for tp, off := range offsets {
		if !validTopicName(tp.Topic) || tp.Partition < 0 || off < 0 {
			return fmt.Errorf("storage: write %s: invalid entry %v offset %d", name, tp, off)
		}
		keys = append(keys, tp)
	}
	slices.SortFunc(keys, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return cmp.Compare(a.Partition, b.Partition)
	})
	entries := make([][]string, len(keys))
	for i, tp := range keys {
		entries[i] = []string{
			tp.Topic,
			strconv.FormatInt(int64(tp.Partition), 10),
			strconv.FormatInt(offsets[tp], 10),
		}
	}
	return WriteCheckpoint(fsys, name, CheckpointVersion, entries)
}

// ReadOffsetCheckpoint reads an offset checkpoint file. Beyond the generic
// checks of ReadCheckpoint, every topic must be a legal topic name, every
// partition and offset a non-negative number, and no partition may appear
// twice; otherwise the error wraps ErrCorruptCheckpoint. A missing file
// returns an error satisfying errors.Is(err, fs.ErrNotExist). The map is
// never nil on success.
func ReadOffsetCheckpoint(fsys vfs.FS, name string) (map[TopicPartition]int64, error) {
	entries, err := ReadCheckpoint(fsys, name, CheckpointVersion, 3)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(entries))
	for i, e := range entries {
		line := i + 3
		if !validTopicName(e[0]) {
			return nil, corruptf(name, "line %d: invalid topic name %q", line, e[0])
		}
		p, ok := parseCanonicalInt(e[1], 32)
		if !ok || p < 0 {
			return nil, corruptf(name, "line %d: invalid partition %q", line, e[1])
		}
		off, ok := parseCanonicalInt(e[2], 64)
		if !ok || off < 0 {
			return nil, corruptf(name, "line %d: invalid offset %q", line, e[2])
		}
		tp := TopicPartition{Topic: e[0], Partition: int32(p)}
		if _, dup := out[tp]; dup {
			return nil, corruptf(name, "line %d: duplicate entry for %v", line, tp)
		}
		out[tp] = off
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Leader-epoch checkpoint: "epoch startOffset".

// WriteLeaderEpochCheckpoint atomically replaces the leader-epoch
// checkpoint file name with entries, which must be valid (non-negative,
// strictly increasing epochs and start offsets).
func WriteLeaderEpochCheckpoint(fsys vfs.FS, name string, entries []EpochEntry) error {
	if err := validateEpochEntries(entries); err != nil {
		return fmt.Errorf("storage: write %s: %w", name, err)
	}
	fields := make([][]string, len(entries))
	for i, e := range entries {
		fields[i] = []string{strconv.FormatInt(int64(e.Epoch), 10), strconv.FormatInt(e.StartOffset, 10)}
	}
	return WriteCheckpoint(fsys, name, CheckpointVersion, fields)
}

// ReadLeaderEpochCheckpoint reads a leader-epoch checkpoint file. Beyond
// the generic checks of ReadCheckpoint, epochs and start offsets must be
// non-negative and strictly increasing from line to line (a repeated epoch
// is a duplicate key), as every writer, Kafka's included, maintains them;
// otherwise the error wraps ErrCorruptCheckpoint. A missing file returns
// an error satisfying errors.Is(err, fs.ErrNotExist).
func ReadLeaderEpochCheckpoint(fsys vfs.FS, name string) ([]EpochEntry, error) {
	entries, err := ReadCheckpoint(fsys, name, CheckpointVersion, 2)
	if err != nil {
		return nil, err
	}
	out := make([]EpochEntry, 0, len(entries))
	for i, e := range entries {
		line := i + 3
		epoch, ok := parseCanonicalInt(e[0], 32)
		if !ok || epoch < 0 {
			return nil, corruptf(name, "line %d: invalid epoch %q", line, e[0])
		}
		off, ok := parseCanonicalInt(e[1], 64)
		if !ok || off < 0 {
			return nil, corruptf(name, "line %d: invalid start offset %q", line, e[1])
		}
		out = append(out, EpochEntry{Epoch: int32(epoch), StartOffset: off})
	}
	if err := validateEpochEntries(out); err != nil {
		return nil, corruptf(name, "%v", err)
	}
	return out, nil
}
