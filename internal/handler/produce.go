package handler

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-mq/sluice/internal/protocol"
	"github.com/sluice-mq/sluice/internal/replica"
	"github.com/sluice-mq/sluice/internal/storage"
)

// ProduceResult is the outcome of a Produce request: the response, or a
// wait that yields it once the appends are durable; None for acks=0,
// with Close when an acks=0 append failed (Kafka closes the connection
// then, the only way to tell the producer).
type ProduceResult struct {
	Resp  *protocol.ProduceResponse
	Wait  func(ctx context.Context) *protocol.ProduceResponse
	None  bool
	Close bool
}

// pendingAppend is an append to wait for before answering.
type pendingAppend struct {
	out    *protocol.ProduceResponsePartitionProduceResponse
	part   *replica.Partition
	end    int64
	epoch  int32 // the leader epoch of the append
	minISR int   // min.insync.replicas, checked again at completion
}

// Produce appends each partition's batches now (a large request's
// partitions on several cores at once, each partition's in order), and
// answers once every append is acknowledgeable or its timeout passes:
// with acks=1 once the leader's append is durable (Sluice's durable
// default fsyncs first), with acks=all once the high watermark passes it
// (every in-sync replica has it durably) and the ISR still has
// min.insync.replicas members.
func (h *Handler) Produce(ctx context.Context, req *protocol.ProduceRequest, version int16) ProduceResult {
	resp := &protocol.ProduceResponse{}
	var pending []pendingAppend
	failed := false
	for _, t := range req.TopicData {
		tr := protocol.ProduceResponseTopicProduceResponse{Name: t.Name}
		for _, p := range t.PartitionData {
			pr := protocol.ProduceResponsePartitionProduceResponse{}
			pr.Default() // CurrentLeader -1, -1: a tagged field sent only when set
			pr.Index, pr.BaseOffset = p.Index, -1
			tr.PartitionResponses = append(tr.PartitionResponses, pr)
		}
		resp.Responses = append(resp.Responses, tr)
	}
	for _, o := range h.appendAll(req, resp, version) {
		if o.code != protocol.ErrNone {
			failed = true
			o.w.out.ErrorCode = int16(o.code)
			o.w.out.ErrorMessage = o.msg
			continue
		}
		pending = append(pending, o.w)
	}
	if req.Acks == 0 {
		return ProduceResult{None: true, Close: failed}
	}
	if len(pending) == 0 {
		h.hintProduceLeaders(resp, version)
		return ProduceResult{Resp: resp}
	}
	acks, timeout := req.Acks, time.Duration(max(req.TimeoutMs, 0))*time.Millisecond
	return ProduceResult{Wait: func(ctx context.Context) *protocol.ProduceResponse {
		// The request's timeout bounds acks=all, as in Kafka. An acks=1
		// append is in the log already; answering it with a timeout would
		// invite a retry that writes it twice, so it waits for its own
		// fsync, bounded only by the connection.
		if acks == -1 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		for _, w := range pending {
			var err error
			if acks == -1 {
				err = w.part.WaitCommitted(ctx, w.end, w.epoch, w.minISR)
			} else {
				err = w.part.Log.WaitDurable(ctx, w.end)
			}
			if err != nil {
				w.out.ErrorCode = int16(waitErrorCode(err, version))
				w.out.BaseOffset, w.out.LogAppendTimeMs = -1, -1
				msg := err.Error()
				w.out.ErrorMessage = &msg
			}
		}
		h.hintProduceLeaders(resp, version)
		return resp
	}}
}

// appendPartition appends one partition's records and fills the
// successful parts of its response.
func (h *Handler) appendPartition(req *protocol.ProduceRequest, topic string, partition int32, records []byte,
	pr *protocol.ProduceResponsePartitionProduceResponse, version int16) (pendingAppend, protocol.ErrorCode, *string) {
	w := pendingAppend{out: pr}
	if req.TransactionalID != nil {
		return w, protocol.ErrTransactionalIDAuthorizationFailed, ptr("transactions are not supported")
	}
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		return w, protocol.ErrInvalidRequiredAcks, nil
	}
	if internalTopic(topic) {
		return w, protocol.ErrInvalidTopicException, ptr("cannot append to internal topic " + topic)
	}
	part, err := h.replicas.Leading(storage.TopicPartition{Topic: topic, Partition: partition})
	if err != nil {
		return w, partitionErrorCode(err), nil
	}
	if code, msg := checkProducedBatches(version, records); code != protocol.ErrNone {
		return w, code, msg
	}
	if req.Acks == -1 {
		minISR, err := h.replicas.CheckMinISR(part)
		if err != nil {
			pr.LogStartOffset = part.Log.StartOffset()
			return w, protocol.ErrNotEnoughReplicas, ptr(err.Error())
		}
		w.minISR = minISR
	}
	res, epoch, err := part.AppendAsLeader(records)
	if err != nil {
		var ae *storage.AppendError
		if errors.As(err, &ae) && version >= 8 {
			for _, re := range ae.Records {
				m := re.Message
				pr.RecordErrors = append(pr.RecordErrors, protocol.ProduceResponseBatchIndexAndErrorMessage{BatchIndex: re.Index, BatchIndexErrorMessage: &m})
			}
		}
		code := appendErrorCode(err, version)
		switch code {
		case protocol.ErrCorruptMessage, protocol.ErrMessageTooLarge, protocol.ErrNotLeaderOrFollower, protocol.ErrKafkaStorageError:
		default:
			// As Kafka: a refusal by the log's rules (record errors, the
			// producer's sequence or epoch) names the log start offset,
			// which the producer reads on such errors.
			pr.LogStartOffset = part.Log.StartOffset()
		}
		return w, code, ptr(err.Error())
	}
	pr.BaseOffset = res.FirstOffset
	pr.LogStartOffset = res.LogStartOffset
	pr.LogAppendTimeMs = res.LogAppendTime
	w.part, w.end, w.epoch = part, res.EndOffset, epoch
	return w, protocol.ErrNone, nil
}

// waitErrorCode maps the failure of a wait for an append to be
// acknowledgeable.
func waitErrorCode(err error, version int16) protocol.ErrorCode {
	switch {
	case errors.Is(err, replica.ErrNotLeader):
		return protocol.ErrNotLeaderOrFollower
	case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
		return protocol.ErrNotEnoughReplicasAfterAppend
	}
	return appendErrorCode(err, version)
}

// AppendErrorCode is the Kafka code of a failed append for appenders
// other than Produce (the group coordinator's writes to
// __consumer_offsets), as the newest Produce version reports it.
func AppendErrorCode(err error) protocol.ErrorCode {
	_, newest, _ := Versions(protocol.KeyProduce)
	return appendErrorCode(err, newest)
}

// PartitionErrorCode is the Kafka code of a failed lookup of a partition
// to lead (replica.Manager.Leading).
func PartitionErrorCode(err error) protocol.ErrorCode { return partitionErrorCode(err) }

// appendErrorCode maps a storage error to Kafka's code.
func appendErrorCode(err error, version int16) protocol.ErrorCode {
	switch {
	case errors.Is(err, storage.ErrCorruptMessage):
		return protocol.ErrCorruptMessage
	case errors.Is(err, storage.ErrInvalidRecord):
		return protocol.ErrInvalidRecord
	case errors.Is(err, storage.ErrInvalidTimestamp):
		return protocol.ErrInvalidTimestamp
	case errors.Is(err, storage.ErrBatchTooLarge):
		return protocol.ErrMessageTooLarge
	case errors.Is(err, storage.ErrOutOfOrderSequence):
		return protocol.ErrOutOfOrderSequenceNumber
	case errors.Is(err, storage.ErrInvalidProducerEpoch):
		return protocol.ErrInvalidProducerEpoch
	case errors.Is(err, storage.ErrLegacyFormat):
		return protocol.ErrUnsupportedForMessageFormat
	case errors.Is(err, storage.ErrUnsupportedBatch):
		return protocol.ErrTransactionalIDAuthorizationFailed
	case errors.Is(err, storage.ErrStorage):
		if version >= 4 {
			return protocol.ErrKafkaStorageError
		}
		return protocol.ErrNotLeaderOrFollower
	case errors.Is(err, storage.ErrClosed), errors.Is(err, replica.ErrNotLeader):
		return protocol.ErrNotLeaderOrFollower
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return protocol.ErrRequestTimedOut
	default:
		return protocol.ErrUnknownServerError
	}
}

// partitionErrorCode maps a replica lookup error.
func partitionErrorCode(err error) protocol.ErrorCode {
	switch {
	case errors.Is(err, replica.ErrNotLeader):
		return protocol.ErrNotLeaderOrFollower
	default:
		return protocol.ErrUnknownTopicOrPartition
	}
}

func ptr[T any](v T) *T { return &v }
