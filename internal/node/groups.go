package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/internal/group"
	"github.com/sluice-mq/sluice/internal/handler"
	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
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
// committed, as an acks=all produce: the in-sync replicas must number at
// least min.insync.replicas of __consumer_offsets (its own, else the
// broker's) before the append and still once the high watermark passed it
// (every in-sync replica has it durably). ctx's deadline never interrupts
// the append: it ends the wait that follows.
// Errors are Kafka's codes where the coordinator maps them: too large
// (MESSAGE_TOO_LARGE), not the leader (NOT_LEADER_OR_FOLLOWER), too few
// in-sync replicas before or after the append (NOT_ENOUGH_REPLICAS,
// NOT_ENOUGH_REPLICAS_AFTER_APPEND), not committed by the deadline
// (REQUEST_TIMED_OUT).
func (l offsetsLog) Append(ctx context.Context, p int32, batch []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // unloaded: append nothing more
	}
	part, err := l.replicas.Leading(offsetsTP(p))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", handler.PartitionErrorCode(err), err)
	}
	minISR, err := l.replicas.CheckMinISR(part)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", protocol.ErrNotEnoughReplicas, err)
	}
	res, epoch, err := part.AppendAsLeader(batch)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", handler.AppendErrorCode(err), err)
	}
	if err := part.WaitCommitted(ctx, res.EndOffset, epoch, minISR); err != nil {
		switch {
		case errors.Is(err, storage.ErrStorage):
			return 0, fmt.Errorf("%w: %w", handler.AppendErrorCode(err), err)
		case errors.Is(err, replica.ErrNotLeader):
			return 0, fmt.Errorf("%w: %w", handler.PartitionErrorCode(err), err)
		case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
			return 0, fmt.Errorf("%w: %w", protocol.ErrNotEnoughReplicasAfterAppend, err)
		case errors.Is(err, context.DeadlineExceeded):
			return 0, fmt.Errorf("%w: %s-%d not committed up to %d in time: %w",
				protocol.ErrRequestTimedOut, handler.OffsetsTopic, p, res.EndOffset, err)
		}
		return 0, err // unloaded: the coordinator answers for it
	}
	return res.FirstOffset, nil
}

// Scan calls fn with every batch of the partition, from its start to its
// end.
func (l offsetsLog) Scan(p int32, fn func(batch []byte) error) error {
	part, ok := l.replicas.Partition(offsetsTP(p))
	if !ok {
		return fmt.Errorf("%s-%d is not hosted here", handler.OffsetsTopic, p)
	}
	// To the log end, as Kafka's loader reads (LOG_END): anything appended
	// here is this coordinator's own write.
	log := part.Log
	end := log.EndOffset()
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
		n.groups.SetPartitionCount(int32(t.NumPartitions()))
		for id, part := range t.Partitions() {
			if part.Leader == n.cfg.NodeID {
				led[id] = true
			}
		}
	}
	for p, stop := range n.groupParts {
		if !led[p] {
			// Stop the partition's loader first, so that a load retried
			// after this cannot install the partition again (Load
			// refuses to once its context is done).
			stop()
			n.groups.Unload(p)
			delete(n.groupParts, p)
		}
	}
	// Topics gone since the last image (or deleted and created again
	// under a new id) take their committed offsets with them.
	if prev := n.groupTopics; prev != nil && prev != img.Topics {
		var deleted []string
		for t := range prev.All() {
			if now := img.Topics.ByName(t.Name()); now == nil || now.ID() != t.ID() {
				deleted = append(deleted, t.Name())
			}
		}
		n.groups.TopicsDeleted(deleted)
	}
	n.groupTopics = img.Topics
	for p := range led {
		if n.groupParts[p] != nil {
			continue
		}
		ctx, stop := context.WithCancel(n.bg)
		n.groupParts[p] = stop
		n.wg.Add(1)
		go func() { // owned by the node: close cancels bg and waits
			defer n.wg.Done()
			n.loadGroups(ctx, p)
		}()
	}
}

// loadGroups loads partition p's groups, retrying with backoff until it
// succeeds, the partition is unloaded (ctx is cancelled when this broker
// stops leading it) or the node stops.
func (n *Node) loadGroups(ctx context.Context, p int32) {
	backoff := 100 * time.Millisecond
	for {
		err := n.groups.Load(ctx, p)
		if err == nil || errors.Is(err, group.ErrUnloaded) || errors.Is(err, group.ErrClosed) || ctx.Err() != nil {
			return
		}
		n.logger.Error("loading consumer groups failed, retrying", "partition", p, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
