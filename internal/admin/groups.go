package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrGroupActive is returned when offsets are to be reset while the
// group has members: they would overwrite the new offsets with their
// next commit.
var ErrGroupActive = errors.New("group is active")

// GroupSummary is one line of a group listing.
type GroupSummary struct {
	Name         string `json:"name"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Members      int    `json:"members"`
	Coordinator  int32  `json:"coordinator"`
}

// TopicPartitions names partitions of one topic.
type TopicPartitions struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// GroupMember is one member of a described group.
type GroupMember struct {
	MemberID   string `json:"member_id"`
	InstanceID string `json:"instance_id,omitempty"`
	ClientID   string `json:"client_id"`
	Host       string `json:"host"`
	// Assignment is decoded from the consumer protocol; it is empty for
	// other protocol types and before the first assignment.
	Assignment []TopicPartitions `json:"assignment"`
}

// GroupPartition is a partition a group is assigned or has committed to.
type GroupPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the group's committed offset, -1 when it has none.
	Committed int64 `json:"committed"`
	// LogEndOffset is the high watermark, the end a consumer can read
	// to; -1 when it could not be listed.
	LogEndOffset int64 `json:"log_end_offset"`
	// Lag is LogEndOffset - Committed; -1 when either is unknown (as
	// kafka-consumer-groups.sh, which does not guess a lag from the log
	// start for a partition without a commit).
	Lag      int64  `json:"lag"`
	MemberID string `json:"member_id"` // "" when no member is assigned the partition
	Error    string `json:"error,omitempty"`
}

// GroupInfo is a described group.
type GroupInfo struct {
	Name         string           `json:"name"`
	State        string           `json:"state"`
	ProtocolType string           `json:"protocol_type"`
	Protocol     string           `json:"protocol"`
	Coordinator  int32            `json:"coordinator"`
	Members      []GroupMember    `json:"members"`
	Partitions   []GroupPartition `json:"partitions"`
}

// ListGroups lists the cluster's groups by name, with their state and
// member count.
func (c *Client) ListGroups(ctx context.Context) ([]GroupSummary, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ls, err := c.adm.ListGroups(ctx)
	if err != nil {
		return nil, c.wrap("list groups", oneShard(err))
	}
	names := ls.Groups()
	out := make([]GroupSummary, 0, len(names))
	if len(names) == 0 {
		return out, nil
	}
	ds, err := c.adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, c.wrap("describe groups", oneShard(err))
	}
	for _, name := range names {
		l := ls[name]
		s := GroupSummary{Name: name, State: l.State, ProtocolType: l.ProtocolType, Coordinator: l.Coordinator}
		if d, ok := ds[name]; ok && d.Err == nil {
			// The description is the later look: keep its state with its
			// member count.
			s.State, s.Members = d.State, len(d.Members)
		}
		out = append(out, s)
	}
	return out, nil
}

// DescribeGroups describes the named groups: state, members with their
// assignments, and per partition the committed offset, the end offset
// and the lag. An unknown group is an error; the others are described.
func (c *Client) DescribeGroups(ctx context.Context, names ...string) ([]GroupInfo, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ds, err := c.adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, c.wrap("describe groups", oneShard(err))
	}
	var out []GroupInfo
	var errs []error
	for _, name := range names {
		d, ok := ds[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("group %s: no answer", name))
			continue
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("group %s: %w", name, d.Err))
			continue
		case d.State == "Dead":
			// Kafka's coordinator describes a group it does not know as Dead.
			errs = append(errs, fmt.Errorf("group %s: %w", name, kerr.GroupIDNotFound))
			continue
		}
		gi, err := c.describeGroup(ctx, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, gi)
	}
	return out, errors.Join(errs...)
}

func (c *Client) describeGroup(ctx context.Context, d kadm.DescribedGroup) (GroupInfo, error) {
	gi := GroupInfo{Name: d.Group, State: d.State, ProtocolType: d.ProtocolType, Protocol: d.Protocol,
		Coordinator: d.Coordinator.NodeID, Members: []GroupMember{}, Partitions: []GroupPartition{}}
	for _, m := range d.Members {
		gm := GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assignment: []TopicPartitions{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				gm.Assignment = append(gm.Assignment, TopicPartitions{Topic: t.Topic, Partitions: ps})
			}
			sort.Slice(gm.Assignment, func(i, j int) bool { return gm.Assignment[i].Topic < gm.Assignment[j].Topic })
		}
		gi.Members = append(gi.Members, gm)
	}
	commits, err := c.adm.FetchOffsets(ctx, d.Group)
	if err != nil {
		return GroupInfo{}, c.wrap("fetch the offsets of group "+d.Group, err)
	}
	topics := d.AssignedPartitions()
	topics.Merge(commits.Partitions())
	var ends kadm.ListedOffsets
	if names := topics.Topics(); len(names) > 0 { // no names would list every topic
		if ends, err = c.adm.ListEndOffsets(ctx, names...); err != nil {
			return GroupInfo{}, c.wrap("list the end offsets of group "+d.Group, err)
		}
	}
	for _, l := range kadm.CalculateGroupLag(d, commits, ends).Sorted() {
		if l.Member == nil && l.Commit.At < 0 {
			// An Empty group's lag covers every partition of a topic
			// it committed to; show only those with a commit, as Kafka.
			continue
		}
		gp := GroupPartition{Topic: l.Topic, Partition: l.Partition, Committed: l.Commit.At, LogEndOffset: -1, Lag: -1}
		if l.End.Err == nil {
			gp.LogEndOffset = l.End.Offset
		}
		if l.Err != nil {
			gp.Error = l.Err.Error()
		} else if gp.Committed >= 0 {
			gp.Lag = l.Lag
		}
		if gp.Committed < 0 {
			gp.Committed = -1
		}
		if l.Member != nil {
			gp.MemberID = l.Member.MemberID
		}
		gi.Partitions = append(gi.Partitions, gp)
	}
	return gi, nil
}

// DeleteGroups deletes the named groups with their offsets; it reports
// each failure (a group with members is NON_EMPTY_GROUP).
func (c *Client) DeleteGroups(ctx context.Context, names ...string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	rs, err := c.adm.DeleteGroups(ctx, names...)
	if err != nil {
		return c.wrap("delete groups", oneShard(err))
	}
	var errs []error
	for _, name := range names {
		if r, ok := rs[name]; !ok {
			errs = append(errs, fmt.Errorf("delete group %s: no answer", name))
		} else if r.Err != nil {
			errs = append(errs, fmt.Errorf("delete group %s: %w", name, r.Err))
		}
	}
	return errors.Join(errs...)
}

// oneShard returns the error of a request that failed at its only
// broker, without kadm's count of shards around it.
func oneShard(err error) error {
	var se *kadm.ShardErrors
	if errors.As(err, &se) && se.AllFailed && len(se.Errs) == 1 {
		return se.Errs[0].Err
	}
	return err
}

// ResetMode is where ResetOffsets moves a group's offsets.
type ResetMode int

// The reset modes, as kafka-consumer-groups.sh names them.
const (
	ResetToEarliest ResetMode = iota + 1 // the log start offset
	ResetToLatest                        // the end offset
	ResetToDatetime                      // the first offset at or after ResetSpec.Time
	ResetToOffset                        // ResetSpec.Offset
	ResetShiftBy                         // the committed offset plus ResetSpec.Offset
)

// ResetSpec says which partitions ResetOffsets moves, and where.
type ResetSpec struct {
	// Topics are the topics to reset; a topic without partitions means
	// all of its partitions. With AllTopics, every partition the group
	// has committed to.
	Topics    []TopicPartitions
	AllTopics bool
	Mode      ResetMode
	Time      time.Time // ResetToDatetime
	Offset    int64     // ResetToOffset: the offset; ResetShiftBy: the shift
}

// OffsetReset is one partition of a reset plan.
type OffsetReset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Current   int64  `json:"current"` // -1: nothing committed
	New       int64  `json:"new"`
}

// ResetPlan is what ResetOffsets computed and whether it committed it.
type ResetPlan struct {
	Group    string        `json:"group"`
	Executed bool          `json:"executed"`
	Offsets  []OffsetReset `json:"offsets"`
}

// ResetOffsets computes new offsets for the group and, with execute,
// commits them. Like kafka-consumer-groups.sh it refuses a group with
// members (ErrGroupActive) and clamps each new offset to the partition's
// [log start, end].
func (c *Client) ResetOffsets(ctx context.Context, group string, spec ResetSpec, execute bool) (ResetPlan, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	plan := ResetPlan{Group: group, Offsets: []OffsetReset{}}
	ds, err := c.adm.DescribeGroups(ctx, group)
	if err != nil {
		return plan, c.wrap("describe group "+group, oneShard(err))
	}
	d, ok := ds[group]
	if !ok {
		return plan, fmt.Errorf("describe group %s: no answer", group)
	}
	if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
		return plan, fmt.Errorf("describe group %s: %w", group, d.Err)
	}
	if d.Err == nil && d.State != "Empty" && d.State != "Dead" {
		members := fmt.Sprintf("%d members", len(d.Members))
		if len(d.Members) == 1 {
			members = "1 member"
		}
		return plan, fmt.Errorf("reset offsets of group %s: %w (state %s, %s): stop its consumers first",
			group, ErrGroupActive, d.State, members)
	}
	commits, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		return plan, c.wrap("fetch the offsets of group "+group, err)
	}
	parts, err := c.resetPartitions(ctx, group, spec, commits)
	if err != nil {
		return plan, err
	}
	target, err := c.resetTargets(ctx, spec, parts.Topics())
	if err != nil {
		return plan, err
	}
	starts, err := c.adm.ListStartOffsets(ctx, parts.Topics()...)
	if err != nil {
		return plan, c.wrap("list start offsets", err)
	}
	ends, err := c.adm.ListEndOffsets(ctx, parts.Topics()...)
	if err != nil {
		return plan, c.wrap("list end offsets", err)
	}
	var commit kadm.Offsets
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			cur := int64(-1)
			if o, ok := commits.Lookup(tp.Topic, p); ok && o.Err == nil && o.At >= 0 {
				cur = o.At
			}
			start, end, err := bounds(starts, ends, tp.Topic, p)
			if err != nil {
				return plan, err
			}
			var want int64
			switch spec.Mode {
			case ResetToEarliest:
				want = start
			case ResetToLatest:
				want = end
			case ResetToOffset:
				want = spec.Offset
			case ResetShiftBy:
				if cur < 0 {
					return plan, fmt.Errorf("cannot shift the offset of %s-%d: group %s has no committed offset there", tp.Topic, p, group)
				}
				want = cur + spec.Offset
			case ResetToDatetime:
				o, ok := target.Lookup(tp.Topic, p)
				if !ok || o.Err != nil {
					return plan, fmt.Errorf("list offsets of %s-%d at %s: %w", tp.Topic, p, spec.Time.Format(time.RFC3339), cmpErr(o.Err, errors.New("no answer")))
				}
				want = o.Offset
				if want < 0 { // no record at or after the time
					want = end
				}
			}
			next := min(max(want, start), end)
			plan.Offsets = append(plan.Offsets, OffsetReset{Topic: tp.Topic, Partition: p, Current: cur, New: next})
			commit.AddOffset(tp.Topic, p, next, -1)
		}
	}
	if !execute {
		return plan, nil
	}
	rs, err := c.adm.CommitOffsets(ctx, group, commit)
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		return plan, c.wrap("commit the offsets of group "+group, err)
	}
	plan.Executed = true
	return plan, nil
}

// resetPartitions resolves the spec's topics to partitions.
func (c *Client) resetPartitions(ctx context.Context, group string, spec ResetSpec, commits kadm.OffsetResponses) (kadm.TopicsSet, error) {
	set := make(kadm.TopicsSet)
	if spec.AllTopics {
		commits.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At >= 0 {
				set.Add(o.Topic, o.Partition)
			}
		})
		if len(set) == 0 {
			return nil, fmt.Errorf("group %s has no committed offsets to reset; name the topics", group)
		}
		return set, nil
	}
	names := make([]string, 0, len(spec.Topics))
	for _, t := range spec.Topics {
		names = append(names, t.Topic)
	}
	if len(names) == 0 {
		return nil, errors.New("no topics to reset")
	}
	tds, err := c.adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, c.wrap("describe topics", err)
	}
	for _, t := range spec.Topics {
		td, ok := tds[t.Topic]
		if !ok || td.Err != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Topic, cmpErr(td.Err, errUnknownTopic))
		}
		if len(t.Partitions) == 0 {
			for p := range td.Partitions {
				set.Add(t.Topic, p)
			}
			continue
		}
		for _, p := range t.Partitions {
			if _, ok := td.Partitions[p]; !ok {
				return nil, fmt.Errorf("topic %s has no partition %d", t.Topic, p)
			}
			set.Add(t.Topic, p)
		}
	}
	return set, nil
}

// resetTargets lists the offsets at the spec's time; other modes need
// no listing.
func (c *Client) resetTargets(ctx context.Context, spec ResetSpec, topics []string) (kadm.ListedOffsets, error) {
	if spec.Mode != ResetToDatetime {
		return nil, nil
	}
	l, err := c.adm.ListOffsetsAfterMilli(ctx, spec.Time.UnixMilli(), topics...)
	if err != nil {
		return nil, c.wrap("list offsets by time", err)
	}
	return l, nil
}

// bounds is the range a reset may move a partition's offset within.
func bounds(starts, ends kadm.ListedOffsets, topic string, p int32) (start, end int64, err error) {
	s, ok := starts.Lookup(topic, p)
	if !ok || s.Err != nil {
		return 0, 0, fmt.Errorf("list the start offset of %s-%d: %w", topic, p, cmpErr(s.Err, errors.New("no answer")))
	}
	e, ok := ends.Lookup(topic, p)
	if !ok || e.Err != nil {
		return 0, 0, fmt.Errorf("list the end offset of %s-%d: %w", topic, p, cmpErr(e.Err, errors.New("no answer")))
	}
	return s.Offset, e.Offset, nil
}
