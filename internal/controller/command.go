package controller

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/internal/metadata"
	"github.com/sluice-mq/sluice/internal/protocol"
)

// Command is one change to the metadata: it computes the records to
// commit from the latest image (including changes proposed but not yet
// committed). It runs on the active controller's goroutine, so commands
// see each other's effects in order. It returns the records to commit
// atomically and a reply for the caller; no records means nothing to
// commit.
//
// The commands of this package's constructors also carry their name and
// arguments, so a node that is not the active controller can forward them
// (EncodeCommand, DecodeCommand) and the active one rebuild them.
// CommandFunc makes a command that can only run where it was made.
type Command struct {
	op   string
	args any
	// run computes the command's records and reply from the image and
	// what it may read of the active controller (env).
	run func(img *metadata.Image, e env) ([]metadata.Record, any, error)
	// read, set instead of run, answers from the active controller's own
	// state (the quorum's progress) and commits nothing.
	read func(c *Controller) any
	// hops counts the voters that forwarded the command: a voter forwards
	// a command from a broker-only node to the leader once, never again.
	hops int
}

// imageOnly makes a command function that reads nothing but the image.
func imageOnly(run func(img *metadata.Image) ([]metadata.Record, any, error)) func(*metadata.Image, env) ([]metadata.Record, any, error) {
	return func(img *metadata.Image, _ env) ([]metadata.Record, any, error) { return run(img) }
}

// CommandFunc makes a local-only command from its function.
func CommandFunc(run func(img *metadata.Image) ([]metadata.Record, any, error)) Command {
	return Command{run: imageOnly(run)}
}

func newCommand(op string, args any, run func(img *metadata.Image) ([]metadata.Record, any, error)) Command {
	return Command{op: op, args: args, run: imageOnly(run)}
}

// newCommandIn is newCommand for a command that also reads the active
// controller's own configuration (env).
func newCommandIn(op string, args any, run func(img *metadata.Image, e env) ([]metadata.Record, any, error)) Command {
	return Command{op: op, args: args, run: run}
}

// env is what a command may read of the active controller beside the
// image: the static configuration that Kafka's controller also consults.
type env struct {
	// nodeID is the active controller's id (its dynamic broker configs
	// come before the cluster-wide ones).
	nodeID int32
	// uncleanLeaderElection is its static
	// unclean.leader.election.enable.
	uncleanLeaderElection bool
}

// apply runs cmd on img as the active controller in e does.
func (cmd Command) apply(img *metadata.Image, e env) ([]metadata.Record, any, error) {
	return cmd.run(img, e)
}

// Names of the commands that can be forwarded, and their arguments.
const (
	opAllocateProducerIDs     = "AllocateProducerIDs"
	opRegisterBroker          = "RegisterBroker"
	opUnfenceBroker           = "UnfenceBroker"
	opFenceBroker             = "FenceBroker"
	opCreateTopics            = "CreateTopics"
	opDeleteTopics            = "DeleteTopics"
	opCreatePartitions        = "CreatePartitions"
	opIncrementalAlterConfigs = "IncrementalAlterConfigs"
	opAlterConfigs            = "AlterConfigs"
	opBrokerHeartbeat         = "BrokerHeartbeat"
	opElectLeaders            = "ElectLeaders"
	opAlterPartition          = "AlterPartition"
	opAlterReassignments      = "AlterPartitionReassignments"
)

type electLeadersArgs struct {
	ElectionType int8
	Targets      []ElectTarget
}

type allocateProducerIDsArgs struct {
	BrokerID    int32
	BrokerEpoch int64
}

type brokerEpochArgs struct {
	ID    int32
	Epoch int64
}

type createTopicsArgs struct {
	Reqs         []CreateTopic
	ValidateOnly bool
	Defaults     TopicDefaults
}

type deleteTopicsArgs struct {
	Names []string
	IDs   []protocol.UUID
}

type createPartitionsArgs struct {
	Reqs         []CreatePartitionsRequest
	ValidateOnly bool
}

type incrementalAlterConfigsArgs struct {
	Resources    []IncrementalAlterConfigsResource
	ValidateOnly bool
}

type alterConfigsArgs struct {
	Resources    []AlterConfigsResource
	ValidateOnly bool
}

// opSpec rebuilds a forwarded command from its arguments and decodes its
// reply.
type opSpec struct {
	build func(args []byte) (Command, error)
	reply func(b []byte) (any, error)
}

func decodeArgs[A any](b []byte, f func(A) Command) (Command, error) {
	var a A
	if err := json.Unmarshal(b, &a); err != nil {
		return Command{}, err
	}
	return f(a), nil
}

func decodeReply[R any](b []byte) (any, error) {
	var r R
	if len(b) == 0 || string(b) == "null" {
		return r, nil // the typed zero value, as the command returned it
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return r, nil
}

var opSpecs = map[string]opSpec{
	opDescribeQuorum: {
		build: func([]byte) (Command, error) { return DescribeQuorum(), nil },
		reply: decodeReply[QuorumState],
	},
	opAllocateProducerIDs: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a allocateProducerIDsArgs) Command { return AllocateProducerIDs(a.BrokerID, a.BrokerEpoch) })
		},
		reply: decodeReply[ProducerIDBlock],
	},
	opRegisterBroker: {
		build: func(b []byte) (Command, error) { return decodeArgs(b, RegisterBroker) },
		reply: decodeReply[int64],
	},
	opUnfenceBroker: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a brokerEpochArgs) Command { return UnfenceBroker(a.ID, a.Epoch) })
		},
		reply: decodeReply[any],
	},
	opFenceBroker: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a brokerEpochArgs) Command { return FenceBroker(a.ID, a.Epoch) })
		},
		reply: decodeReply[any],
	},
	opBrokerHeartbeat: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a brokerEpochArgs) Command { return BrokerHeartbeat(a.ID, a.Epoch) })
		},
		reply: decodeReply[HeartbeatReply],
	},
	opElectLeaders: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a electLeadersArgs) Command { return ElectLeaders(a.ElectionType, a.Targets) })
		},
		reply: decodeReply[[]ElectResult],
	},
	opAlterPartition: {
		build: func(b []byte) (Command, error) { return decodeArgs(b, AlterPartition) },
		reply: decodeReply[AlterISRReply],
	},
	opAlterReassignments: {
		build: func(b []byte) (Command, error) { return decodeArgs(b, AlterPartitionReassignments) },
		reply: decodeReply[[]ReassignResult],
	},
	opCreateTopics: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a createTopicsArgs) Command { return CreateTopics(a.Reqs, a.ValidateOnly, a.Defaults) })
		},
		reply: decodeReply[[]CreateTopicResult],
	},
	opDeleteTopics: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a deleteTopicsArgs) Command { return DeleteTopics(a.Names, a.IDs) })
		},
		reply: decodeReply[[]DeleteTopicResult],
	},
	opCreatePartitions: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a createPartitionsArgs) Command { return CreatePartitions(a.Reqs, a.ValidateOnly) })
		},
		reply: decodeReply[[]CreatePartitionsResult],
	},
	opIncrementalAlterConfigs: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a incrementalAlterConfigsArgs) Command {
				return IncrementalAlterConfigs(a.Resources, a.ValidateOnly)
			})
		},
		reply: decodeReply[[]AlterConfigsResult],
	},
	opAlterConfigs: {
		build: func(b []byte) (Command, error) {
			return decodeArgs(b, func(a alterConfigsArgs) Command { return AlterConfigs(a.Resources, a.ValidateOnly) })
		},
		reply: decodeReply[[]AlterConfigsResult],
	},
}

// ErrNotForwardable: a command made with CommandFunc cannot leave its node.
var ErrNotForwardable = errors.New("controller: command cannot be forwarded")

// wireCommand is a command as it is forwarded.
type wireCommand struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args"`
	Hops int             `json:"hops,omitempty"`
}

// EncodeCommand returns the form in which cmd is forwarded.
func EncodeCommand(cmd Command) ([]byte, error) {
	if cmd.op == "" {
		return nil, ErrNotForwardable
	}
	args, err := json.Marshal(cmd.args)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", cmd.op, err)
	}
	return json.Marshal(wireCommand{Op: cmd.op, Args: args, Hops: cmd.hops})
}

// DecodeCommand rebuilds a forwarded command.
func DecodeCommand(b []byte) (Command, error) {
	var w wireCommand
	if err := json.Unmarshal(b, &w); err != nil {
		return Command{}, fmt.Errorf("decode command: %w", err)
	}
	spec, ok := opSpecs[w.Op]
	if !ok {
		return Command{}, fmt.Errorf("decode command: unknown command %q", w.Op)
	}
	cmd, err := spec.build(w.Args)
	if err != nil {
		return Command{}, fmt.Errorf("decode command %s: %w", w.Op, err)
	}
	cmd.hops = w.Hops
	return cmd, nil
}

// decodeReplyOf decodes the JSON reply of a forwarded command named op.
func decodeReplyOf(op string, b []byte) (any, error) {
	spec, ok := opSpecs[op]
	if !ok {
		return nil, fmt.Errorf("decode reply: unknown command %q", op)
	}
	return spec.reply(b)
}
