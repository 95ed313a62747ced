package replica

import "github.com/sluice-mq/sluice/internal/storage"

// Log divergence between a follower and its leader (KIP-320, KIP-595's
// fetch-based truncation): a follower's fetch carries the epoch of the
// last batch it has (LastFetchedEpoch); the leader answers DivergingEpoch
// when its own log ends that epoch below the fetch offset, and the
// follower truncates and fetches again until nothing diverges. These are
// the two decisions, as pure functions over the leader-epoch caches: the
// leader's in the Fetch handler (DivergingEpoch), the follower's in its
// fetcher.

// epochEnds answers "where does epoch e end in this log": the largest
// epoch at most e and the offset where it ends (storage's EndOffsetFor).
type epochEnds func(epoch int32) (int32, int64)

// divergingEpoch is the leader's check of a follower fetch at fetchOffset
// whose last fetched batch had lastFetchedEpoch: if the leader's log
// holds that epoch only up to an offset below fetchOffset, or not at all
// (its largest epoch at most lastFetchedEpoch is an earlier one), the
// follower's log diverges, and the answer is the epoch and end offset it
// must truncate towards. No divergence is reported for a follower that
// sends no epoch (lastFetchedEpoch < 0). When the leader's log cannot say
// where that epoch ends (no epoch at or above it), undefined is true: the
// fetch is out of range, as Kafka answers it, not agreed.
func divergingEpoch(leader epochEnds, lastFetchedEpoch int32, fetchOffset int64) (epoch int32, endOffset int64, diverges, undefined bool) {
	if lastFetchedEpoch < 0 {
		return 0, 0, false, false
	}
	e, end := leader(lastFetchedEpoch)
	if e == storage.UndefinedEpoch {
		return 0, 0, false, true
	}
	if end < fetchOffset || e < lastFetchedEpoch {
		return e, end, true, false
	}
	return 0, 0, false, false
}

// truncationOffset is the follower's answer to a DivergingEpoch (epoch,
// endOffset) from its leader, given its own log end: the smaller of the
// leader's end offset for that epoch and the follower's own end offset
// for it (its largest epoch at most epoch, ending where its next epoch
// begins), never beyond its log end. A follower whose own log has no
// entry at or below epoch truncates to the leader's end offset. It never
// truncates to its high watermark (KIP-101): the leader's answer decides.
func truncationOffset(follower epochEnds, epoch int32, endOffset, logEnd int64) int64 {
	e, own := follower(epoch)
	if e == storage.UndefinedEpoch {
		return min(endOffset, logEnd)
	}
	// When the follower's largest epoch at most epoch is an earlier one,
	// this is not the end of it: the next fetch, with that epoch, asks
	// the leader again.
	return min(endOffset, own, logEnd)
}

// DivergingEpoch is divergingEpoch for the leader's Fetch handler, with
// the leader's epoch cache given as a function.
func DivergingEpoch(leader func(epoch int32) (int32, int64), lastFetchedEpoch int32, fetchOffset int64) (epoch int32, endOffset int64, diverges, undefined bool) {
	return divergingEpoch(leader, lastFetchedEpoch, fetchOffset)
}
