package controller

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/storage"
	"github.com/sluice-mq/sluice/internal/vfs"
)

// A snapshot file holds the latest raft snapshot, whose data is the
// metadata image written as records:
//
//	crc32c uint32 (of the rest) | length uint32 | raftpb.Snapshot
//
// It is replaced atomically; the raft log is compacted only after the new
// snapshot is durable.
const snapshotFile = "snapshot"

type snapshotter struct {
	fs  vfs.FS
	dir string
}

func (s *snapshotter) save(snap *pb.Snapshot) error {
	payload, err := proto.Marshal(snap)
	if err != nil {
		return err
	}
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b, crc32.Checksum(b[4:], crcTable))
	if err := storage.WriteFileAtomic(s.fs, s.fs.PathJoin(s.dir, snapshotFile), b); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// load returns the saved snapshot, or nil if there is none. A damaged
// snapshot is an error: the log before it is gone, so nothing can
// replace it.
func (s *snapshotter) load() (*pb.Snapshot, error) {
	b, err := vfs.ReadFile(s.fs, s.fs.PathJoin(s.dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(b) < 8 || int(binary.BigEndian.Uint32(b[4:])) != len(b)-8 || crc32.Checksum(b[4:], crcTable) != binary.BigEndian.Uint32(b) {
		return nil, errors.New("snapshot file is damaged")
	}
	snap := &pb.Snapshot{}
	if err := proto.Unmarshal(b[8:], snap); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return snap, nil
}

// encodeImage writes the image as the records that rebuild it.
func encodeImage(img *metadata.Image) []byte {
	return encodeEntry(0, img.Records())
}

// decodeImage rebuilds an image from encodeImage's bytes.
func decodeImage(data []byte, offset int64) (*metadata.Image, error) {
	_, recs, err := decodeEntry(data)
	if err != nil {
		return nil, err
	}
	if offset == 0 {
		return &metadata.Image{}, nil
	}
	return (&metadata.Image{}).Apply(offset, recs)
}
