package storage

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-mq/sluice/internal/vfs"
)

// The small metadata files of a Kafka log directory besides the offset
// checkpoints: meta.properties (which cluster and node own the directory),
// partition.metadata (the topic id of a partition directory) and the
// clean-shutdown marker. All are replaced atomically with WriteFileAtomic
// and read strictly, with malformed content reported as an error wrapping
// ErrCorruptCheckpoint and a missing file as the file system's
// fs.ErrNotExist error (except ReadCleanShutdown, which reports absence
// with ok == false).

// File names, as Kafka names them.
const (
	MetaPropertiesFile    = "meta.properties"
	PartitionMetadataFile = "partition.metadata"
	CleanShutdownFile     = ".kafka_cleanshutdown"
)

// maxMetaFileSize bounds what the readers of this file read.
const maxMetaFileSize = 64 << 10

// ---------------------------------------------------------------------------
// Kafka Uuid.

// UUIDString returns Kafka's string form of a Uuid: the 16 bytes (most
// significant first) in URL-safe base64 without padding, 22 characters.
func UUIDString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// ParseUUID parses the string form of a Kafka Uuid. It accepts exactly
// the 22-character strings UUIDString returns: URL-safe base64 alphabet,
// no padding, and the unused low 4 bits of the last character zero (Java's
// decoder ignores those bits; requiring them zero keeps one string per
// Uuid).
func ParseUUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 22 {
		return id, fmt.Errorf("storage: invalid Uuid %q: length %d, expected 22", s, len(s))
	}
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(s))
	if err != nil || n != 16 {
		return [16]byte{}, fmt.Errorf("storage: invalid Uuid %q: not URL-safe base64 of 16 bytes", s)
	}
	return id, nil
}

// Kafka's reserved Uuids, never returned by RandomUUID: ZERO_UUID and
// ONE_UUID (also METADATA_TOPIC_ID).
var (
	zeroUUID [16]byte
	oneUUID  = [16]byte{15: 1}
)

// RandomUUID returns a random (version 4, variant 2) Uuid following
// Kafka's Uuid.randomUuid rules: never the reserved zero or one Uuid, and
// never one whose string form starts with '-' (it would read as a command
// line option).
func RandomUUID() [16]byte {
	for {
		var id [16]byte
		_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		// The first character encodes the top 6 bits; '-' is value 62.
		if id == zeroUUID || id == oneUUID || id[0]>>2 == 62 {
			continue
		}
		return id
	}
}

// ---------------------------------------------------------------------------
// meta.properties

// MetaProperties is the content of a log directory's meta.properties in
// the KRaft (version 1) form. A zero DirectoryID means "absent": it is not
// written, and a file without directory.id reads as zero.
type MetaProperties struct {
	Version     int
	ClusterID   string
	NodeID      int32
	DirectoryID [16]byte
}

// ErrMetaPropertiesMismatch is wrapped by CheckMetaProperties' error: the
// directory belongs to another cluster or node and must not be used.
var ErrMetaPropertiesMismatch = errors.New("storage: meta.properties does not match this node")

// CheckMetaProperties compares what a log directory holds (have) with what
// this node expects (want) and returns an error wrapping
// ErrMetaPropertiesMismatch, naming every differing field, if the cluster
// id or the node id differ. The directory id is per directory and is not
// compared.
func CheckMetaProperties(have, want MetaProperties) error {
	var diffs []string
	if have.ClusterID != want.ClusterID {
		diffs = append(diffs, fmt.Sprintf("cluster.id is %q, expected %q", have.ClusterID, want.ClusterID))
	}
	if have.NodeID != want.NodeID {
		diffs = append(diffs, fmt.Sprintf("node.id is %d, expected %d", have.NodeID, want.NodeID))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrMetaPropertiesMismatch, strings.Join(diffs, "; "))
}

// Property names of meta.properties.
const (
	propVersion     = "version"
	propClusterID   = "cluster.id"
	propNodeID      = "node.id"
	propDirectoryID = "directory.id"
)

// FormatDir prepares dir for node nodeID of cluster clusterID: it creates
// the directory (durably) and writes its meta.properties with a new
// directory id. It does not check for an existing one.
func FormatDir(fsys vfs.FS, dir, clusterID string, nodeID int32) error {
	if err := vfs.MkdirAllDurable(fsys, dir); err != nil {
		return err
	}
	return WriteMetaProperties(fsys, dir, MetaProperties{Version: 1, ClusterID: clusterID, NodeID: nodeID, DirectoryID: RandomUUID()})
}

// WriteMetaProperties atomically writes dir/meta.properties. mp.Version
// must be 1, mp.ClusterID non-empty valid UTF-8 and mp.NodeID non-negative.
// The file is written in Java properties syntax, one "key=value" line per
// property, without the timestamp comment Kafka adds.
func WriteMetaProperties(fsys vfs.FS, dir string, mp MetaProperties) error {
	name := fsys.PathJoin(dir, MetaPropertiesFile)
	switch {
	case mp.Version != 1:
		return fmt.Errorf("storage: write %s: unsupported version %d (only 1)", name, mp.Version)
	case mp.ClusterID == "" || !utf8.ValidString(mp.ClusterID):
		return fmt.Errorf("storage: write %s: invalid cluster id %q", name, mp.ClusterID)
	case mp.NodeID < 0:
		return fmt.Errorf("storage: write %s: invalid node id %d", name, mp.NodeID)
	}
	var b strings.Builder
	writeProp := func(k, v string) {
		b.WriteString(escapeProperty(k, true))
		b.WriteByte('=')
		b.WriteString(escapeProperty(v, false))
		b.WriteByte('\n')
	}
	writeProp(propVersion, "1")
	writeProp(propClusterID, mp.ClusterID)
	writeProp(propNodeID, strconv.FormatInt(int64(mp.NodeID), 10))
	if mp.DirectoryID != zeroUUID {
		writeProp(propDirectoryID, UUIDString(mp.DirectoryID))
	}
	return WriteFileAtomic(fsys, name, []byte(b.String()))
}

// ReadMetaProperties reads dir/meta.properties. The file may hold comment
// lines ('#' or '!'), blank lines, keys in any order, any Java properties
// syntax (':' or white space separators, escapes, continuation lines) and
// unknown keys, which are ignored. It must have version=1, a non-empty
// cluster.id and a non-negative integer node.id; directory.id is optional
// but must be a valid Uuid when present. A duplicated key, a malformed
// line or value, or version 0 (the ZooKeeper-era form) return an error
// wrapping ErrCorruptCheckpoint; a missing file returns the file system's
// error (errors.Is(err, fs.ErrNotExist)).
func ReadMetaProperties(fsys vfs.FS, dir string) (MetaProperties, error) {
	name := fsys.PathJoin(dir, MetaPropertiesFile)
	data, err := readFileBounded(fsys, name, maxMetaFileSize)
	if err != nil {
		return MetaProperties{}, err
	}
	props, err := parseJavaProperties(string(data))
	if err != nil {
		return MetaProperties{}, corruptf(name, "%v", err)
	}
	var mp MetaProperties
	v, ok := props[propVersion]
	if !ok {
		return mp, corruptf(name, "no %s (a version 0 file)", propVersion)
	}
	version, ok := parseCanonicalInt(v, 32)
	if !ok {
		return mp, corruptf(name, "malformed %s %q", propVersion, v)
	}
	if version != 1 {
		return mp, corruptf(name, "unsupported version %d (only 1, the KRaft form)", version)
	}
	mp.Version = 1
	mp.ClusterID = props[propClusterID]
	if mp.ClusterID == "" {
		return mp, corruptf(name, "missing or empty %s", propClusterID)
	}
	n, ok := props[propNodeID]
	if !ok {
		return mp, corruptf(name, "missing %s", propNodeID)
	}
	nodeID, ok := parseCanonicalInt(n, 32)
	if !ok || nodeID < 0 {
		return mp, corruptf(name, "malformed %s %q", propNodeID, n)
	}
	mp.NodeID = int32(nodeID)
	if d, ok := props[propDirectoryID]; ok {
		id, err := ParseUUID(d)
		if err != nil {
			return mp, corruptf(name, "malformed %s: %v", propDirectoryID, err)
		}
		mp.DirectoryID = id
	}
	return mp, nil
}

// escapeProperty escapes s for a Java properties file: backslash, the
// separators '=' and ':', the comment starters '#' and '!', line breaks,
// tabs and form feeds; spaces everywhere in a key but only at the start
// of a value (where the reader would otherwise skip them).
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case ' ':
			if key || i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(' ')
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '\\', '=', ':', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseJavaProperties parses the syntax of java.util.Properties.load:
// natural lines end in \n, \r or \r\n; blank lines and lines whose first
// non-blank character is '#' or '!' are skipped; a line ending in an odd
// number of backslashes continues on the next line (whose leading blanks
// are dropped); the key ends at the first unescaped '=', ':' or blank,
// the separator may be surrounded by blanks; escapes are \t \n \r \f
// \uXXXX and \c for any other c. Unlike Java, a repeated key is an error.
func parseJavaProperties(data string) (map[string]string, error) {
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	natural := strings.Split(data, "\n")
	props := make(map[string]string)
	for i := 0; i < len(natural); i++ {
		line := strings.TrimLeft(natural[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for endsInOddBackslashes(line) {
			line = line[:len(line)-1]
			if i+1 >= len(natural) {
				break
			}
			i++
			line += strings.TrimLeft(natural[i], " \t\f")
		}
		rawKey, rawValue := splitPropertyLine(line)
		key, err := unescapeProperty(rawKey)
		if err != nil {
			return nil, err
		}
		value, err := unescapeProperty(rawValue)
		if err != nil {
			return nil, err
		}
		if _, dup := props[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		props[key] = value
	}
	return props, nil
}

func endsInOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func isPropBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// splitPropertyLine splits a logical line (no leading blanks) into its
// still-escaped key and value.
func splitPropertyLine(line string) (key, value string) {
	keyEnd := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++ // skip the escaped character
			continue
		}
		if c == '=' || c == ':' || isPropBlank(c) {
			keyEnd = i
			break
		}
	}
	key = line[:keyEnd]
	rest := line[keyEnd:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a trailing lone backslash is dropped, as in Java
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\u escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\u escape in %q", s)
			}
			b.WriteRune(rune(v))
			i += 4
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// ---------------------------------------------------------------------------
// partition.metadata

// WritePartitionMetadata atomically writes dir/partition.metadata for the
// partition directory dir: "version: 0\ntopic_id: <Uuid>\n". The topic id
// must not be the zero Uuid.
func WritePartitionMetadata(fsys vfs.FS, dir string, topicID [16]byte) error {
	name := fsys.PathJoin(dir, PartitionMetadataFile)
	if topicID == zeroUUID {
		return fmt.Errorf("storage: write %s: zero topic id", name)
	}
	return WriteFileAtomic(fsys, name, []byte("version: 0\ntopic_id: "+UUIDString(topicID)+"\n"))
}

// ReadPartitionMetadata reads the topic id from dir/partition.metadata.
// The file must be exactly the two lines WritePartitionMetadata writes
// (the final newline may be missing, as in files Kafka writes) with a
// non-zero topic id; otherwise the error wraps ErrCorruptCheckpoint. A
// missing file returns the file system's error (fs.ErrNotExist).
func ReadPartitionMetadata(fsys vfs.FS, dir string) ([16]byte, error) {
	name := fsys.PathJoin(dir, PartitionMetadataFile)
	data, err := readFileBounded(fsys, name, maxMetaFileSize)
	if err != nil {
		return [16]byte{}, err
	}
	text := strings.TrimSuffix(string(data), "\n")
	lines := strings.Split(text, "\n")
	if len(lines) != 2 {
		return [16]byte{}, corruptf(name, "%d lines, expected 2", len(lines))
	}
	if lines[0] != "version: 0" {
		return [16]byte{}, corruptf(name, "line 1: expected \"version: 0\", found %q", lines[0])
	}
	idText, ok := strings.CutPrefix(lines[1], "topic_id: ")
	if !ok {
		return [16]byte{}, corruptf(name, "line 2: malformed %q", lines[1])
	}
	id, err := ParseUUID(idText)
	if err != nil {
		return [16]byte{}, corruptf(name, "line 2: %v", err)
	}
	if id == zeroUUID {
		return [16]byte{}, corruptf(name, "zero topic id")
	}
	return id, nil
}

// ---------------------------------------------------------------------------
// Clean shutdown marker.

// WriteCleanShutdown atomically writes dir/.kafka_cleanshutdown, the
// marker of a clean shutdown of the log directory dir, as Kafka's JSON
// {"version":0,"brokerEpoch":N}. It is durable (file and directory
// entry) when WriteCleanShutdown returns nil. Write it last, after every
// log of the directory has been flushed and closed.
func WriteCleanShutdown(fsys vfs.FS, dir string, brokerEpoch int64) error {
	name := fsys.PathJoin(dir, CleanShutdownFile)
	data := `{"version":0,"brokerEpoch":` + strconv.FormatInt(brokerEpoch, 10) + `}`
	return WriteFileAtomic(fsys, name, []byte(data))
}

// ReadCleanShutdown reports whether dir holds a clean-shutdown marker and
// the broker epoch recorded in it. No marker gives (0, false, nil): the
// previous shutdown was not clean. A marker that is not a JSON object with
// "version" 0 and an integer "brokerEpoch" (unknown fields are ignored, as
// Kafka does) gives an error wrapping ErrCorruptCheckpoint; callers should
// then recover as after an unclean shutdown.
func ReadCleanShutdown(fsys vfs.FS, dir string) (brokerEpoch int64, ok bool, err error) {
	name := fsys.PathJoin(dir, CleanShutdownFile)
	data, err := readFileBounded(fsys, name, maxMetaFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var content struct {
		Version     *int   `json:"version"`
		BrokerEpoch *int64 `json:"brokerEpoch"`
	}
	if err := json.Unmarshal(data, &content); err != nil {
		return 0, false, corruptf(name, "%v", err)
	}
	if content.Version == nil || *content.Version != 0 {
		return 0, false, corruptf(name, "missing or unsupported version")
	}
	if content.BrokerEpoch == nil {
		return 0, false, corruptf(name, "missing brokerEpoch")
	}
	return *content.BrokerEpoch, true, nil
}

// RemoveCleanShutdown removes dir/.kafka_cleanshutdown, if present, and
// syncs dir so the removal is durable. Call it at startup, after reading
// the marker and before any write to the directory's logs, so that a crash
// from then on is never mistaken for a clean shutdown. It syncs dir even
// if the marker is already gone, in case an earlier removal was not made
// durable.
func RemoveCleanShutdown(fsys vfs.FS, dir string) error {
	name := fsys.PathJoin(dir, CleanShutdownFile)
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: remove %s: %w", name, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("storage: remove %s: %w", name, err)
	}
	return nil
}
