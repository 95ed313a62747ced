package controller

import (
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// QuorumState is the active controller's view of the metadata quorum,
// what DescribeQuorum answers. Offsets are raft indexes, which are the
// metadata log's offsets.
type QuorumState struct {
	LeaderID    int32 `json:"leader_id"`
	LeaderEpoch int32 `json:"leader_epoch"` // the raft term
	// HighWatermark is the index of the last committed entry.
	HighWatermark int64        `json:"high_watermark"`
	Voters        []VoterState `json:"voters"`
}

// VoterState is one voter as the leader sees it.
type VoterState struct {
	ID int32 `json:"id"`
	// LogEndOffset is the index the voter is known to hold up to (the
	// leader's last index for the leader itself); -1 when unknown.
	LogEndOffset int64 `json:"log_end_offset"`
	// LastFetchMs is when the leader last heard from the voter (-1 for
	// the leader itself and for a voter not heard from); LastCaughtUpMs
	// when the voter last held every entry the leader had (now, for the
	// leader). Unix milliseconds.
	LastFetchMs    int64 `json:"last_fetch_ms"`
	LastCaughtUpMs int64 `json:"last_caught_up_ms"`
}

// voterContact is what the leader's loop records of a voter's answers.
type voterContact struct {
	heard    time.Time
	caughtUp time.Time
}

const opDescribeQuorum = "DescribeQuorum"

// DescribeQuorum reads the quorum's state on the active controller; the
// reply is a QuorumState. It commits nothing.
func DescribeQuorum() Command {
	return Command{op: opDescribeQuorum, args: struct{}{}, read: func(c *Controller) any { return c.quorumState(time.Now()) }}
}

// noteVoterAnswer records, on the leader, a voter's answer to an append
// or a heartbeat: when it was heard from, and whether it now holds every
// entry the leader has.
func (c *Controller) noteVoterAnswer(m *pb.Message, now time.Time) {
	if t := m.GetType(); t != pb.MsgAppResp && t != pb.MsgHeartbeatResp {
		return
	}
	if c.contacts == nil {
		c.contacts = map[uint64]*voterContact{}
	}
	vc := c.contacts[m.GetFrom()]
	if vc == nil {
		vc = &voterContact{}
		c.contacts[m.GetFrom()] = vc
	}
	vc.heard = now
	if m.GetType() == pb.MsgAppResp && !m.GetReject() {
		if last, err := c.ms.LastIndex(); err == nil && m.GetIndex() >= last {
			vc.caughtUp = now
		}
	}
}

// quorumState builds DescribeQuorum's answer; it runs on the leader's
// loop.
func (c *Controller) quorumState(now time.Time) QuorumState {
	st := c.rn.Status()
	q := QuorumState{LeaderID: int32(st.Lead), LeaderEpoch: int32(st.GetTerm()), HighWatermark: int64(st.GetCommit())}
	last, _ := c.ms.LastIndex()
	for _, id := range c.cfg.Voters {
		v := VoterState{ID: int32(id), LogEndOffset: -1, LastFetchMs: -1, LastCaughtUpMs: -1}
		if id == c.cfg.NodeID {
			v.LogEndOffset, v.LastCaughtUpMs = int64(last), now.UnixMilli()
		} else {
			if pr, ok := st.Progress[id]; ok {
				v.LogEndOffset = int64(pr.Match)
				if pr.Match >= last {
					// Caught up as of its last answer.
					if vc := c.contacts[id]; vc != nil && !vc.heard.IsZero() {
						vc.caughtUp = vc.heard
					}
				}
			}
			if vc := c.contacts[id]; vc != nil {
				if !vc.heard.IsZero() {
					v.LastFetchMs = vc.heard.UnixMilli()
				}
				if !vc.caughtUp.IsZero() {
					v.LastCaughtUpMs = vc.caughtUp.UnixMilli()
				}
			}
		}
		q.Voters = append(q.Voters, v)
	}
	return q
}
