package handler

import (
	"context"
	"path/filepath"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/storage"
)

// logDir is what DescribeLogDirs knows of the broker's log directory.
type logDir struct {
	path string
	// usage measures the directory's volume; nil when unknown.
	usage func() (total, usable int64)
}

// SetLogDir tells DescribeLogDirs the broker's log directory (the storage
// Manager's dir) and how to measure the volume it is on: usage returns
// its total and usable bytes, -1 each when unknown; nil means unknown.
// Call it before serving requests. A relative path is answered made
// absolute, as Kafka answers it.
func (h *Handler) SetLogDir(path string, usage func() (total, usable int64)) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h.logDir, h.logDirUsage = path, usage
}

// logDirInfo returns what SetLogDir set, or a directory inferred from the
// partitions hosted (the parent of their logs' directories) when it was
// not called; ok is false when neither is known.
func (h *Handler) logDirInfo() (d logDir, ok bool) {
	if h.logDir != "" {
		return logDir{path: h.logDir, usage: h.logDirUsage}, true
	}
	for _, p := range h.replicas.Partitions() {
		return logDir{path: filepath.Dir(p.Log.Dir())}, true
	}
	return logDir{}, false
}

// DescribeLogDirs describes the broker's single log directory (v0-4):
// the requested partitions it hosts (null topics: all of them, led or
// followed), each with its size on disk; partitions not hosted are left
// out. The offset lag is 0: a replica's log is never behind the high
// watermark (future logs of AlterReplicaLogDirs do not exist). v4
// carries the volume's total and usable bytes, -1 when unknown.
func (h *Handler) DescribeLogDirs(ctx context.Context, req *protocol.DescribeLogDirsRequest, version int16) *protocol.DescribeLogDirsResponse {
	resp := &protocol.DescribeLogDirsResponse{Results: []protocol.DescribeLogDirsResponseDescribeLogDirsResult{}}
	dir, ok := h.logDirInfo()
	if !ok {
		return resp
	}
	var wanted map[storage.TopicPartition]bool
	if req.Topics != nil {
		wanted = map[storage.TopicPartition]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				wanted[storage.TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
	}
	res := protocol.DescribeLogDirsResponseDescribeLogDirsResult{
		LogDir:      dir.path,
		Topics:      []protocol.DescribeLogDirsResponseDescribeLogDirsTopic{},
		TotalBytes:  -1,
		UsableBytes: -1,
	}
	if dir.usage != nil {
		res.TotalBytes, res.UsableBytes = dir.usage()
	}
	// Partitions come sorted by topic, then partition: consecutive
	// entries of a topic share one result.
	for _, p := range h.replicas.Partitions() {
		if wanted != nil && !wanted[p.TP] {
			continue
		}
		if n := len(res.Topics); n == 0 || res.Topics[n-1].Name != p.TP.Topic {
			res.Topics = append(res.Topics, protocol.DescribeLogDirsResponseDescribeLogDirsTopic{Name: p.TP.Topic})
		}
		t := &res.Topics[len(res.Topics)-1]
		t.Partitions = append(t.Partitions, protocol.DescribeLogDirsResponseDescribeLogDirsPartition{
			PartitionIndex: p.TP.Partition,
			PartitionSize:  p.Log.Size(),
		})
	}
	resp.Results = append(resp.Results, res)
	return resp
}
