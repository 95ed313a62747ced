package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicSummary is one line of a topic listing.
type TopicSummary struct {
	Name              string `json:"name"`
	ID                string `json:"id"` // as Kafka prints it: URL-safe base64, no padding
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
	// UnderReplicated counts partitions whose ISR is smaller than their
	// replica set; Offline those without a leader.
	UnderReplicated int `json:"under_replicated"`
	Offline         int `json:"offline"`
}

// PartitionInfo is one partition of a described topic.
type PartitionInfo struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	OfflineReplicas []int32 `json:"offline_replicas"`
	Error           string  `json:"error,omitempty"`
}

// ConfigEntry is a topic config that is not at its default.
type ConfigEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// TopicInfo is a described topic.
type TopicInfo struct {
	TopicSummary
	PartitionList []PartitionInfo `json:"partition_list"`
	Configs       []ConfigEntry   `json:"configs"`
}

func summarize(d kadm.TopicDetail) TopicSummary {
	s := TopicSummary{Name: d.Topic, ID: base64.RawURLEncoding.EncodeToString(d.ID[:]), Partitions: len(d.Partitions), Internal: d.IsInternal}
	for _, p := range d.Partitions {
		s.ReplicationFactor = max(s.ReplicationFactor, len(p.Replicas))
		if len(p.ISR) < len(p.Replicas) {
			s.UnderReplicated++
		}
		if p.Leader < 0 {
			s.Offline++
		}
	}
	return s
}

// ListTopics lists the cluster's topics by name; internal ones only
// with internal.
func (c *Client) ListTopics(ctx context.Context, internal bool) ([]TopicSummary, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var (
		ds  kadm.TopicDetails
		err error
	)
	if internal {
		ds, err = c.adm.ListTopicsWithInternal(ctx)
	} else {
		ds, err = c.adm.ListTopics(ctx)
	}
	if err != nil {
		return nil, c.wrap("list topics", err)
	}
	out := make([]TopicSummary, 0, len(ds))
	for _, name := range ds.Names() {
		if err := ds[name].Err; err != nil {
			return nil, fmt.Errorf("list topics: %s: %w", name, err)
		}
		out = append(out, summarize(ds[name]))
	}
	return out, nil
}

// DescribeTopics describes the named topics: partitions, leaders,
// replicas, ISRs and the configs set away from their defaults.
func (c *Client) DescribeTopics(ctx context.Context, names ...string) ([]TopicInfo, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ds, err := c.adm.ListTopicsWithInternal(ctx, names...)
	if err != nil {
		return nil, c.wrap("describe topics", err)
	}
	var errs []error
	var out []TopicInfo
	var found []string
	for _, name := range names {
		d, ok := ds[name]
		if !ok || d.Err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", name, cmpErr(d.Err, errUnknownTopic)))
			continue
		}
		ti := TopicInfo{TopicSummary: summarize(d)}
		for _, p := range d.Partitions.Sorted() {
			pi := PartitionInfo{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR), OfflineReplicas: orEmpty(p.OfflineReplicas)}
			if p.Err != nil {
				pi.Error = p.Err.Error()
			}
			ti.PartitionList = append(ti.PartitionList, pi)
		}
		out = append(out, ti)
		found = append(found, name)
	}
	if len(found) > 0 {
		rcs, err := c.adm.DescribeTopicConfigs(ctx, found...)
		if err != nil {
			return nil, c.wrap("describe topic configs", err)
		}
		for _, rc := range rcs {
			if rc.Err != nil {
				errs = append(errs, fmt.Errorf("configs of %s: %w", rc.Name, rc.Err))
				continue
			}
			i := slices.IndexFunc(out, func(t TopicInfo) bool { return t.Name == rc.Name })
			if i < 0 {
				continue
			}
			for _, e := range rc.Configs {
				if e.Source != kmsg.ConfigSourceDynamicTopicConfig { // set on the topic itself
					continue
				}
				out[i].Configs = append(out[i].Configs, ConfigEntry{Name: e.Key, Value: e.MaybeValue(), Source: "topic"})
			}
			sort.Slice(out[i].Configs, func(a, b int) bool { return out[i].Configs[a].Name < out[i].Configs[b].Name })
			if out[i].Configs == nil {
				out[i].Configs = []ConfigEntry{}
			}
		}
	}
	return out, errors.Join(errs...)
}

var errUnknownTopic = errors.New("no such topic")

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func orEmpty(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// CreateTopic creates a topic; partitions and replicationFactor of -1
// take the broker's defaults.
func (c *Client) CreateTopic(ctx context.Context, name string, partitions int32, replicationFactor int16, configs map[string]string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	cfg := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfg[k] = &v
	}
	r, err := c.adm.CreateTopic(ctx, partitions, replicationFactor, cfg, name)
	if err == nil {
		err = r.Err
		if r.ErrMessage != "" {
			err = fmt.Errorf("%w: %s", err, r.ErrMessage)
		}
	}
	return c.wrap("create topic "+name, err)
}

// DeleteTopics deletes the named topics; it reports each failure.
func (c *Client) DeleteTopics(ctx context.Context, names ...string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	rs, err := c.adm.DeleteTopics(ctx, names...)
	if err != nil {
		return c.wrap("delete topics", err)
	}
	var errs []error
	for _, name := range names {
		if r, ok := rs[name]; !ok {
			errs = append(errs, fmt.Errorf("delete topic %s: no answer", name))
		} else if r.Err != nil {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", name, r.Err))
		}
	}
	return errors.Join(errs...)
}

// AlterTopicConfig sets and removes topic configs incrementally.
func (c *Client) AlterTopicConfig(ctx context.Context, name string, set map[string]string, remove []string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var alters []kadm.AlterConfig
	for _, k := range sortedKeys(set) {
		v := set[k]
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range remove {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 {
		return errors.New("alter topic config: nothing to change (--set key=value, --delete key)")
	}
	rs, err := c.adm.AlterTopicConfigs(ctx, alters, name)
	if err == nil {
		for _, r := range rs {
			if r.Err != nil {
				err = r.Err
				if r.ErrMessage != "" {
					err = fmt.Errorf("%w: %s", err, r.ErrMessage)
				}
			}
		}
	}
	return c.wrap("alter config of topic "+name, err)
}

// AddPartitions raises a topic's partition count to total.
func (c *Client) AddPartitions(ctx context.Context, name string, total int) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	rs, err := c.adm.UpdatePartitions(ctx, total, name)
	if err == nil {
		if r, ok := rs[name]; ok && r.Err != nil {
			err = r.Err
			if r.ErrMessage != "" {
				err = fmt.Errorf("%w: %s", err, r.ErrMessage)
			}
		}
	}
	return c.wrap("add partitions to topic "+name, err)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
