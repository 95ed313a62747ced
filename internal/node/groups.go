package node

import (
	"context"
	"fmt"

	"github.com/sluice-mq/sluice/internal/handler"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/record"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
)

// offsetsLog is the group coordinator's storage: the partitions of
// __consumer_offsets this broker leads.
type offsetsLog struct{ replicas *replica.Manager }

func offsetsTP(p int32) storage.TopicPartition {
	return storage.TopicPartition{Topic: handler.OffsetsTopic, Partition: p}
}

// Append appends batch as the partition's leader and waits until it is
// durable (acks=all: with one replica, fsynced).
func (l offsetsLog) Append(ctx context.Context, p int32, batch []byte) (int64, error) {
	part, err := l.replicas.Leading(offsetsTP(p))
	if err != nil {
		return 0, err
	}
	_, epoch := part.Leader()
	res, err := part.Log.Append(batch, storage.AppendOptions{LeaderEpoch: epoch})
	if err != nil {
		return 0, err
	}
	if err := part.Log.WaitDurable(ctx, res.EndOffset); err != nil {
		return 0, err
	}
	return res.FirstOffset, nil
}

// Scan calls fn with every batch of the partition, from its start to its
// high watermark.
func (l offsetsLog) Scan(p int32, fn func(batch []byte) error) error {
	part, ok := l.replicas.Partition(offsetsTP(p))
	if !ok {
		return fmt.Errorf("%s-%d is not hosted here", handler.OffsetsTopic, p)
	}
	log := part.Log
	end := part.HighWatermark()
	for off := log.StartOffset(); off < end; {
		res, err := log.Read(off, 1<<20, end, true)
		if err != nil {
			return err
		}
		data, err := res.Bytes()
		res.Release()
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		it := record.NewBatches(data)
		for it.Next() {
			h := it.Header()
			if err := fn(it.Batch()); err != nil {
				return err
			}
			off = h.LastOffset() + 1
		}
		if err := it.Err(); err != nil && !it.Torn() {
			return fmt.Errorf("scan %s-%d at %d: %w", handler.OffsetsTopic, p, off, err)
		}
	}
	return nil
}

// followGroups makes the coordinator serve the partitions of
// __consumer_offsets this broker leads in img, loading each newly led
// one, and stop serving those it no longer leads. Called from the image
// loop only.
func (n *Node) followGroups(img *metadata.Image) {
	if n.groups == nil {
		return
	}
	led := map[int32]bool{}
	if t := img.TopicByName(handler.OffsetsTopic); t != nil {
		for id, part := range t.Partitions() {
			if part.Leader == n.cfg.NodeID {
				led[id] = true
			}
		}
	}
	for p := range n.groupParts {
		if !led[p] {
			n.groups.Unload(p)
			delete(n.groupParts, p)
		}
	}
	for p := range led {
		if n.groupParts[p] {
			continue
		}
		n.groupParts[p] = true
		n.wg.Add(1)
		go func() { // owned by the node: close cancels bg and waits
			defer n.wg.Done()
			if err := n.groups.Load(n.bg, p); err != nil {
				n.logger.Error("loading consumer groups failed", "partition", p, "err", err)
			}
		}()
	}
}
