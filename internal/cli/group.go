package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-mq/sluice/internal/admin"
)

const groupUsage = `usage: sluice group <command> [flags] [group ...]

commands:
  list                 the groups, their state, protocol type and member count
  describe GROUP…      members and their partitions; per partition the committed offset,
                       the log end offset (high watermark) and the lag
  reset-offsets GROUP  --topic T[:p,p…] (repeatable) or --all-topics, and one of
                       --to-earliest, --to-latest, --to-datetime TIME, --to-offset N,
                       --shift-by N; prints the plan, --execute commits it. The group
                       must have no members; new offsets are clamped to [log start, end]
  delete GROUP…        delete groups and their offsets (the group must have no members)

every command: -b/--bootstrap-server host:port[,host:port] (default 127.0.0.1:9092),
--json, --timeout (default 15s)
`

// resetFlags are the flags of group reset-offsets.
type resetFlags struct {
	topics     listFlag
	allTopics  bool
	toEarliest bool
	toLatest   bool
	toDatetime string
	toOffset   int64
	shiftBy    int64
	execute    bool
}

func (r *resetFlags) register(fs *flag.FlagSet) {
	fs.Var(&r.topics, "topic", "a topic, or topic:p,p,… for some of its partitions (repeatable)")
	fs.BoolVar(&r.allTopics, "all-topics", false, "every partition the group has committed to")
	fs.BoolVar(&r.toEarliest, "to-earliest", false, "to the log start offset")
	fs.BoolVar(&r.toLatest, "to-latest", false, "to the log end offset")
	fs.StringVar(&r.toDatetime, "to-datetime", "", "to the first offset at or after this time (RFC3339, or Kafka's YYYY-MM-DDTHH:mm:SS.sss in local time)")
	fs.Int64Var(&r.toOffset, "to-offset", 0, "to this offset")
	fs.Int64Var(&r.shiftBy, "shift-by", 0, "by this many offsets from the committed one (negative: back)")
	fs.BoolVar(&r.execute, "execute", false, "commit the new offsets (default: print them only)")
}

// spec turns the parsed flags into a reset, or says what is wrong.
func (r *resetFlags) spec(fs *flag.FlagSet) (admin.ResetSpec, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var spec admin.ResetSpec
	var modes []string
	if r.toEarliest {
		spec.Mode, modes = admin.ResetToEarliest, append(modes, "--to-earliest")
	}
	if r.toLatest {
		spec.Mode, modes = admin.ResetToLatest, append(modes, "--to-latest")
	}
	if set["to-datetime"] {
		t, err := parseResetTime(r.toDatetime)
		if err != nil {
			return spec, fmt.Errorf("--to-datetime %q: want an RFC3339 time such as 2006-01-02T15:04:05Z, or Kafka's 2006-01-02T15:04:05.000 (local time)", r.toDatetime)
		}
		spec.Mode, spec.Time, modes = admin.ResetToDatetime, t, append(modes, "--to-datetime")
	}
	if set["to-offset"] {
		if r.toOffset < 0 {
			return spec, fmt.Errorf("--to-offset %d: an offset is not negative", r.toOffset)
		}
		spec.Mode, spec.Offset, modes = admin.ResetToOffset, r.toOffset, append(modes, "--to-offset")
	}
	if set["shift-by"] {
		spec.Mode, spec.Offset, modes = admin.ResetShiftBy, r.shiftBy, append(modes, "--shift-by")
	}
	if len(modes) != 1 {
		return spec, fmt.Errorf("want exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by (got %d)", len(modes))
	}
	if r.allTopics == (len(r.topics) > 0) {
		return spec, fmt.Errorf("want either --topic (repeatable) or --all-topics")
	}
	spec.AllTopics = r.allTopics
	for _, t := range r.topics {
		tp, err := parseTopicPartitions(t)
		if err != nil {
			return spec, err
		}
		spec.Topics = append(spec.Topics, tp)
	}
	return spec, nil
}

// parseTopicPartitions parses topic or topic:p,p,….
func parseTopicPartitions(s string) (admin.TopicPartitions, error) {
	name, list, hasList := strings.Cut(s, ":")
	tp := admin.TopicPartitions{Topic: name}
	if name == "" {
		return tp, fmt.Errorf("--topic %q: no topic name", s)
	}
	if !hasList {
		return tp, nil
	}
	for _, f := range strings.Split(list, ",") {
		p, err := strconv.ParseInt(f, 10, 32)
		if err != nil || p < 0 {
			return tp, fmt.Errorf("--topic %q: %q is not a partition number", s, f)
		}
		tp.Partitions = append(tp.Partitions, int32(p))
	}
	return tp, nil
}

// runGroup runs `sluice group …`.
func runGroup(args []string, stdout, stderr io.Writer) int {
	a := newAdminCmd("group", groupUsage, args, stdout, stderr)
	if a == nil {
		return 2
	}
	var rf resetFlags
	switch a.cmd {
	case "reset-offsets":
		rf.register(a.fs)
	case "list", "describe", "delete":
	default:
		return a.unknown()
	}
	wantNames := map[string]int{"list": 0, "describe": -1, "delete": -1, "reset-offsets": 1}[a.cmd]
	names, ok := a.names(args[1:], wantNames)
	if !ok {
		return 2
	}
	var spec admin.ResetSpec
	if a.cmd == "reset-offsets" {
		var err error
		if spec, err = rf.spec(a.fs); err != nil {
			return a.usageErr("%v", err)
		}
	}
	cl := a.dial()
	if cl == nil {
		return 1
	}
	defer cl.Close()
	ctx := context.Background()
	switch a.cmd {
	case "list":
		gs, err := cl.ListGroups(ctx)
		if err != nil {
			return a.fail(err)
		}
		return a.emit(gs, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE\tMEMBERS")
			for _, g := range gs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", g.Name, g.State, dash(g.ProtocolType), g.Members)
			}
			tw.Flush()
		})
	case "describe":
		gs, err := cl.DescribeGroups(ctx, names...)
		return a.emitFound(len(gs), gs, func(w io.Writer) { printGroups(w, gs) }, err)
	case "reset-offsets":
		plan, err := cl.ResetOffsets(ctx, names[0], spec, rf.execute)
		if err != nil {
			return a.fail(err)
		}
		return a.emit(plan, func(w io.Writer) { printResetPlan(w, plan) })
	case "delete":
		if err := cl.DeleteGroups(ctx, names...); err != nil {
			return a.fail(err)
		}
		return a.done(names, "deleted %s", joinNames(names))
	}
	return 2
}

func printGroups(w io.Writer, gs []admin.GroupInfo) {
	for i, g := range gs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "group %s  state %s  protocol-type %s", g.Name, g.State, dash(g.ProtocolType))
		if g.Protocol != "" {
			fmt.Fprintf(w, "  protocol %s", g.Protocol)
		}
		fmt.Fprintf(w, "  coordinator %d\n", g.Coordinator)
		// The member id comes last: it is long, and unaligned there.
		if len(g.Members) == 0 {
			fmt.Fprintln(w, "no active members")
		} else {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT-ID\tHOST\tASSIGNMENT\tMEMBER-ID")
			for _, m := range g.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(m.ClientID), dash(m.Host), assignment(m.Assignment), m.MemberID)
			}
			tw.Flush()
		}
		if len(g.Partitions) == 0 {
			fmt.Fprintln(w, "no committed offsets")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID")
		for _, p := range g.Partitions {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", p.Topic, p.Partition, offset(p.Committed), offset(p.LogEndOffset), offset(p.Lag), dash(p.MemberID))
		}
		tw.Flush()
	}
}

func printResetPlan(w io.Writer, plan admin.ResetPlan) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT\tNEW")
	for _, o := range plan.Offsets {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", o.Topic, o.Partition, offset(o.Current), o.New)
	}
	tw.Flush()
	if plan.Executed {
		fmt.Fprintf(w, "committed the new offsets of group %s\n", plan.Group)
	} else {
		fmt.Fprintln(w, "dry run: nothing committed (--execute commits these offsets)")
	}
}

// assignment renders topic:p,p,… per topic.
func assignment(tps []admin.TopicPartitions) string {
	if len(tps) == 0 {
		return "-"
	}
	parts := make([]string, len(tps))
	for i, tp := range tps {
		parts[i] = tp.Topic + ":" + ids(tp.Partitions)
	}
	return strings.Join(parts, " ")
}

// offset renders an offset or a lag; a negative one is unknown.
func offset(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseResetTime reads --to-datetime: RFC3339, or the form Kafka's
// kafka-consumer-groups.sh takes (milliseconds optional), in local time
// unless it carries a zone.
func parseResetTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unrecognized time")
}
