package faultproxy

import "sync/atomic"

// Stats is a snapshot of a proxy's counters, all since Listen.
type Stats struct {
	Accepted          int64 // connections accepted
	Open              int64 // connections open now (accepted and not yet finished)
	DialFailures      int64 // connections closed because the target could not be dialled or was unset
	Cuts              int64 // connections cut by a fault, CutAll included
	ResponsesDropped  int64 // cuts that discarded a response frame (DropResponse, Random)
	RequestsTruncated int64 // cuts inside a request frame (TruncateRequest, Random)
	ByteCuts          int64 // cuts by a byte count (CutAfter, CutEachAfter)
	BytesUp           int64 // bytes forwarded client → broker
	BytesDown         int64 // bytes forwarded broker → client
	FramesUp          int64 // request frames whose size prefix was seen
	FramesDown        int64 // response frames whose size prefix was seen
	Delays            int64 // chunks held back by a non-zero delay
}

type counters struct {
	accepted          atomic.Int64
	open              atomic.Int64
	dialFailures      atomic.Int64
	cuts              atomic.Int64
	responsesDropped  atomic.Int64
	requestsTruncated atomic.Int64
	byteCuts          atomic.Int64
	bytes             [2]atomic.Int64
	frames            [2]atomic.Int64
	delays            atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Accepted:          c.accepted.Load(),
		Open:              c.open.Load(),
		DialFailures:      c.dialFailures.Load(),
		Cuts:              c.cuts.Load(),
		ResponsesDropped:  c.responsesDropped.Load(),
		RequestsTruncated: c.requestsTruncated.Load(),
		ByteCuts:          c.byteCuts.Load(),
		BytesUp:           c.bytes[Up].Load(),
		BytesDown:         c.bytes[Down].Load(),
		FramesUp:          c.frames[Up].Load(),
		FramesDown:        c.frames[Down].Load(),
		Delays:            c.delays.Load(),
	}
}

// countCut records a cut that closed a connection.
func (c *counters) countCut(why cause) {
	c.cuts.Add(1)
	switch why {
	case causeDrop:
		c.responsesDropped.Add(1)
	case causeTruncate:
		c.requestsTruncated.Add(1)
	case causeBytes:
		c.byteCuts.Add(1)
	}
}
