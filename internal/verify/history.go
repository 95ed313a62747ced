package verify

import "time"

// SendStatus is how a send ended, from the producer's point of view.
type SendStatus string

const (
	// SendOK: acknowledged, with a partition and offset.
	SendOK SendStatus = "ok"
	// SendFailed: the broker answered with a definite error; the record
	// was not written.
	SendFailed SendStatus = "failed"
	// SendIndeterminate: a timeout, a cut connection, a retry budget
	// exhausted: the record may or may not be in the log.
	SendIndeterminate SendStatus = "indeterminate"
)

// Send is one record a producer sent. Values are unique over a run, so a
// value identifies its send.
type Send struct {
	Producer  int        `json:"producer"`
	Seq       int        `json:"seq"` // the producer's n-th send, from 0, in send order
	Partition int32      `json:"partition"`
	Value     string     `json:"value"`
	Status    SendStatus `json:"status"`
	// Offset is set when Status is SendOK.
	Offset int64 `json:"offset"`
	// Sent and Done bound the send in time.
	Sent time.Time `json:"sent"`
	Done time.Time `json:"done"`
	Err  string    `json:"err,omitempty"`
}

// Record is one record read back: its partition, offset and value.
type Record struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Value     string `json:"value"`
}

// Poll is what one consumer poll returned: records in the order the
// client delivered them. Session counts the consumer's (re)starts: a
// consumer that is restarted, or that seeks, begins a new session, and
// offsets are compared within a session only.
type Poll struct {
	Consumer int       `json:"consumer"`
	Session  int       `json:"session"`
	At       time.Time `json:"at"`
	Records  []Record  `json:"records"`
}

// Assignment says which partitions a consumer session reads, from which
// offset (the first offset it expects to see; -1 from the log start).
type Assignment struct {
	Consumer   int             `json:"consumer"`
	Session    int             `json:"session"`
	Partitions map[int32]int64 `json:"partitions"`
}

// FaultEvent is one fault the injector applied.
type FaultEvent struct {
	Kind  string    `json:"kind"`           // "kill", "pause", …
	Node  int       `json:"node,omitempty"` // the cluster node faulted (0: the single broker)
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // the broker serves again (restart done, process resumed)
}

// History is everything a run recorded.
type History struct {
	Partitions  int32        `json:"partitions"`
	Sends       []Send       `json:"sends"`
	Polls       []Poll       `json:"polls"`
	Assignments []Assignment `json:"assignments"`
	// Final is the read of every partition from its log start to its end,
	// after the faults stopped; FinalStart and FinalEnd are each
	// partition's log start and end offsets at that read.
	Final      []Record        `json:"final"`
	FinalStart map[int32]int64 `json:"final_start"`
	FinalEnd   map[int32]int64 `json:"final_end"`
	Faults     []FaultEvent    `json:"faults"`
}
