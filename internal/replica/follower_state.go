package replica

import "github.com/sluice-mq/sluice/internal/protocol"

// fetchState is one partition as its follower fetches it from the
// leader (Kafka's PartitionFetchState): a pure state machine. The fetcher
// asks it for the fields of the next fetch (request), then feeds it the
// leader's answer for the partition (response) and carries out the steps
// it returns against the local log, in order, reporting the log's new end
// and last epoch back (appended, truncated).
type fetchState struct {
	// leaderEpoch is the leader epoch the metadata gives; fetches carry
	// it, so a leader of another epoch refuses them.
	leaderEpoch int32
	// fetchOffset is the local log end: the next offset to fetch.
	// lastEpoch is the epoch of the local log's last batch (-1 if none).
	fetchOffset int64
	lastEpoch   int32
	// hw is the follower's high watermark: the leader's, bounded by what
	// the follower has.
	hw int64
	// awaitingMetadata is set when the leader's answer means this
	// follower's metadata is stale or the leader moved: fetching resumes
	// once the metadata changes (restart, with a new state).
	awaitingMetadata bool
}

// fetchRequest is a partition's part of a follower's Fetch.
type fetchRequest struct {
	CurrentLeaderEpoch int32
	FetchOffset        int64
	LastFetchedEpoch   int32
}

// stepKind is what the fetcher must do.
type stepKind int

const (
	// stepAppend: append the response's records as a follower (offsets
	// and epochs as the leader wrote them), then report appended.
	stepAppend stepKind = iota
	// stepTruncate: truncate the local log to Offset, then report
	// truncated; the next fetch starts there.
	stepTruncate
	// stepTruncateFully: empty the local log and start it at Offset (the
	// leader's log start: the follower fell below it).
	stepTruncateFully
	// stepBackoff: wait replica.fetch.backoff.ms before fetching again.
	stepBackoff
	// stepAwaitMetadata: stop fetching this partition until the
	// metadata changes.
	stepAwaitMetadata
)

// step is one thing for the fetcher to do.
type step struct {
	Kind   stepKind
	Offset int64
}

// fetchResponse is the leader's answer for the partition.
type fetchResponse struct {
	Err             protocol.ErrorCode
	HighWatermark   int64
	LogStartOffset  int64
	LeaderEndOffset int64 // the leader's log end, when the error is OFFSET_OUT_OF_RANGE
	// DivergingEpoch, when Diverging, is the leader's answer to the
	// follower's LastFetchedEpoch: the epoch and where it ends.
	Diverging          bool
	DivergingEpoch     int32
	DivergingEndOffset int64
	HasRecords         bool
}

func newFetchState(leaderEpoch int32, logEnd int64, lastEpoch int32, hw int64) *fetchState {
	return &fetchState{leaderEpoch: leaderEpoch, fetchOffset: logEnd, lastEpoch: lastEpoch, hw: min(hw, logEnd)}
}

// request returns the fields of the next fetch.
func (f *fetchState) request() fetchRequest {
	return fetchRequest{CurrentLeaderEpoch: f.leaderEpoch, FetchOffset: f.fetchOffset, LastFetchedEpoch: f.lastEpoch}
}

// response decides what to do with the leader's answer. own gives the
// local log's epoch ends (storage's EndOffsetFor), for a divergence.
func (f *fetchState) response(r fetchResponse, own epochEnds) []step {
	switch r.Err {
	case protocol.ErrNone:
	case protocol.ErrOffsetOutOfRange:
		// Above the leader's end: our tail is not the leader's, go back
		// to its end. Below its start: start over at its start. In
		// between (the leader could not tell where our last epoch ends),
		// nothing is cut: the log may hold committed records, and this
		// replica may be in the ISR. Ask again after the backoff.
		if f.fetchOffset > r.LeaderEndOffset && r.LeaderEndOffset >= 0 {
			return []step{{Kind: stepTruncate, Offset: r.LeaderEndOffset}}
		}
		if f.fetchOffset < r.LogStartOffset {
			return []step{{Kind: stepTruncateFully, Offset: r.LogStartOffset}}
		}
		return []step{{Kind: stepBackoff}}
	case protocol.ErrFencedLeaderEpoch:
		// Our metadata is older than the leader's: a newer image will
		// bring the new epoch (and a new fetch state).
		f.awaitingMetadata = true
		return []step{{Kind: stepAwaitMetadata}}
	default:
		// NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION and
		// UNKNOWN_LEADER_EPOCH (the leader's metadata is behind ours, or
		// the leader moved and ours will say so), storage errors, and the
		// rest: try again after replica.fetch.backoff.ms, as Kafka does.
		return []step{{Kind: stepBackoff}}
	}
	if r.Diverging {
		to := truncationOffset(own, r.DivergingEpoch, r.DivergingEndOffset, f.fetchOffset)
		return []step{{Kind: stepTruncate, Offset: to}}
	}
	f.hw = max(f.hw, min(r.HighWatermark, f.fetchOffset))
	if r.HasRecords {
		return []step{{Kind: stepAppend}}
	}
	return nil
}

// appended reports the local log after an append: its end and its last
// batch's epoch; the high watermark follows the leader's as far as the
// follower now has.
func (f *fetchState) appended(logEnd int64, lastEpoch int32, leaderHW int64) {
	f.fetchOffset, f.lastEpoch = logEnd, lastEpoch
	f.hw = max(f.hw, min(leaderHW, logEnd))
}

// truncated reports the local log after a truncation. The high watermark
// never goes past the log end (a truncation can cut below it: the HW was
// the leader's, the data was not yet replicated everywhere).
func (f *fetchState) truncated(logEnd int64, lastEpoch int32) {
	f.fetchOffset, f.lastEpoch = logEnd, lastEpoch
	f.hw = min(f.hw, logEnd)
}
