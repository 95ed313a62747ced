package handler

import (
	"context"
	"errors"
	"strconv"
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
	part *protocol.ProduceResponsePartitionProduceResponse
	log  *storage.Log
	end  int64
}

// Produce appends each partition's batches now, in request order, and
// answers once every append is durable (acks 1 and -1: Sluice's durable
// default fsyncs before acknowledging either) or its timeout passes.
func (h *Handler) Produce(ctx context.Context, req *protocol.ProduceRequest, version int16) ProduceResult {
	resp := &protocol.ProduceResponse{}
	var pending []pendingAppend
	failed := false
	for _, t := range req.TopicData {
		tr := protocol.ProduceResponseTopicProduceResponse{Name: t.Name}
		for _, p := range t.PartitionData {
			tr.PartitionResponses = append(tr.PartitionResponses, protocol.ProduceResponsePartitionProduceResponse{
				Index: p.Index, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1,
			})
		}
		resp.Responses = append(resp.Responses, tr)
	}
	for ti, t := range req.TopicData {
		for pi, p := range t.PartitionData {
			pr := &resp.Responses[ti].PartitionResponses[pi]
			code, msg, end, log := h.appendPartition(req, t.Name, p.Index, p.Records, pr, version)
			if code != protocol.ErrNone {
				failed = true
				pr.ErrorCode = int16(code)
				pr.ErrorMessage = msg
				continue
			}
			pending = append(pending, pendingAppend{part: pr, log: log, end: end})
		}
	}
	if req.Acks == 0 {
		return ProduceResult{None: true, Close: failed}
	}
	if len(pending) == 0 {
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
			if err := w.log.WaitDurable(ctx, w.end); err != nil {
				w.part.ErrorCode = int16(appendErrorCode(err, version))
				w.part.BaseOffset = -1
				msg := err.Error()
				w.part.ErrorMessage = &msg
			}
		}
		return resp
	}}
}

// appendPartition appends one partition's records and fills the
// successful parts of its response.
func (h *Handler) appendPartition(req *protocol.ProduceRequest, topic string, partition int32, records []byte,
	pr *protocol.ProduceResponsePartitionProduceResponse, version int16) (protocol.ErrorCode, *string, int64, *storage.Log) {
	if req.TransactionalID != nil {
		return protocol.ErrTransactionalIDAuthorizationFailed, ptr("transactions are not supported"), 0, nil
	}
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		return protocol.ErrInvalidRequiredAcks, nil, 0, nil
	}
	if topic == OffsetsTopic {
		return protocol.ErrInvalidTopicException, ptr("cannot append to internal topic " + OffsetsTopic), 0, nil
	}
	part, err := h.replicas.Leading(storage.TopicPartition{Topic: topic, Partition: partition})
	if err != nil {
		return partitionErrorCode(err), nil, 0, nil
	}
	if req.Acks == -1 {
		if code, msg := h.checkMinISR(part); code != protocol.ErrNone {
			return code, msg, 0, nil
		}
	}
	_, epoch := part.Leader()
	res, err := part.Log.Append(records, storage.AppendOptions{LeaderEpoch: epoch})
	if err != nil {
		var ae *storage.AppendError
		if errors.As(err, &ae) && version >= 8 {
			for _, re := range ae.Records {
				m := re.Message
				pr.RecordErrors = append(pr.RecordErrors, protocol.ProduceResponseBatchIndexAndErrorMessage{BatchIndex: re.Index, BatchIndexErrorMessage: &m})
			}
		}
		return appendErrorCode(err, version), ptr(err.Error()), 0, nil
	}
	pr.BaseOffset = res.FirstOffset
	pr.LogStartOffset = res.LogStartOffset
	return protocol.ErrNone, nil, res.EndOffset, part.Log
}

// checkMinISR refuses an acks=all append when the ISR is smaller than
// min.insync.replicas.
func (h *Handler) checkMinISR(part *replica.Partition) (protocol.ErrorCode, *string) {
	img := h.image()
	minISR := 1
	if v, ok := img.TopicConfigs(part.TP.Topic)["min.insync.replicas"]; ok {
		minISR, _ = strconv.Atoi(v)
	} else if v, ok := h.replicas.TopicDefaults(img)["min.insync.replicas"]; ok {
		minISR, _ = strconv.Atoi(v) // the broker's, dynamic configs included
	} else if h.cfg.MinInsyncReplicas > 0 {
		minISR = h.cfg.MinInsyncReplicas
	}
	isr := 0
	if t := img.TopicByName(part.TP.Topic); t != nil {
		if p, ok := t.Partition(part.TP.Partition); ok {
			isr = len(p.ISR)
		}
	}
	if isr < minISR {
		return protocol.ErrNotEnoughReplicas, ptr("the in-sync replicas are fewer than min.insync.replicas=" + strconv.Itoa(minISR))
	}
	return protocol.ErrNone, nil
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
	case errors.Is(err, storage.ErrClosed):
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
