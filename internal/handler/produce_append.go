package handler

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// parallelAppendBytes is the size of a Produce request's records from
// which its partitions are appended on several cores at once; below it
// starting goroutines costs more than the appends.
const parallelAppendBytes = 64 << 10

// appendOutcome is one partition's append: its wait, or its error.
type appendOutcome struct {
	w    pendingAppend
	code protocol.ErrorCode
	msg  *string
}

// appendJob is one partition's records of a Produce request.
type appendJob struct {
	topic   string
	part    int32
	records []byte
	out     *protocol.ProduceResponsePartitionProduceResponse
}

// appendAll appends every partition of req and returns the outcomes in
// request order. A large request with several partitions spreads them
// over the cores (each partition's log is appended to by one goroutine,
// so its batches keep their order); a request naming a partition twice
// is appended in order, one partition after another.
func (h *Handler) appendAll(req *protocol.ProduceRequest, resp *protocol.ProduceResponse, version int16) []appendOutcome {
	var jobs []appendJob
	total := 0
	for ti, t := range req.TopicData {
		for pi, p := range t.PartitionData {
			jobs = append(jobs, appendJob{t.Name, p.Index, p.Records, &resp.Responses[ti].PartitionResponses[pi]})
			total += len(p.Records)
		}
	}
	outs := make([]appendOutcome, len(jobs))
	run := func(i int) {
		j := jobs[i]
		w, code, msg := h.appendPartition(req, j.topic, j.part, j.records, j.out, version)
		outs[i] = appendOutcome{w, code, msg}
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if workers < 2 || total < parallelAppendBytes || repeatsPartition(jobs) {
		for i := range jobs {
			run(i)
		}
		return outs
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(jobs) {
				return
			}
			run(i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return outs
}

// repeatsPartition reports whether jobs name a partition more than once.
func repeatsPartition(jobs []appendJob) bool {
	type tp struct {
		topic string
		part  int32
	}
	seen := make(map[tp]struct{}, len(jobs))
	for _, j := range jobs {
		k := tp{j.topic, j.part}
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}
