package config

// Profile is a set of defaults laid over Kafka's (and Sluice's) before the
// properties file is read.
type Profile uint8

const (
	// ProfileKafka adds nothing: Kafka's defaults with Sluice's
	// differences (Entry.SluiceDefault). A node of a cluster is configured
	// as a Kafka node would be: node.id, process.roles,
	// controller.quorum.voters, controller.listener.names and listeners
	// are the operator's to give.
	ProfileKafka Profile = iota
	// ProfileSingleNode is what `sluice serve` runs with: one node that
	// is both broker and its own controller, listening on loopback, with
	// internal topics of one replica. Any key it sets can still be
	// changed by the file or --set.
	ProfileSingleNode
)

func (p Profile) String() string {
	switch p {
	case ProfileKafka:
		return "kafka"
	case ProfileSingleNode:
		return "single-node"
	}
	return "?"
}

// Override is one default a profile sets.
type Override struct {
	Key   string
	Value string
	// Derived overrides are computed after the file and --set are read,
	// and only when the key was given nowhere; Value shows what the
	// profile's own defaults derive.
	Derived bool
	Reason  string
}

// singleNodeOverrides are ProfileSingleNode's defaults.
var singleNodeOverrides = []Override{
	{Key: "node.id", Value: "1", Reason: "a single node needs an id; Kafka has no default"},
	{Key: "process.roles", Value: "broker,controller", Reason: "one node is both the broker and its own metadata controller (Kafka's combined mode)"},
	{Key: "listeners", Value: "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
		Reason: "clients on 9092 and the controller on 9093, on loopback only: Sluice has no authentication"},
	{Key: "controller.listener.names", Value: "CONTROLLER", Reason: "names the controller listener above"},
	{Key: "controller.quorum.voters", Value: "1@127.0.0.1:9093", Derived: true,
		Reason: "derived when not given: node.id @ the first controller listener's host and port (an empty or 0.0.0.0 host becomes 127.0.0.1, :: becomes ::1), so the node is its own single voter"},
	{Key: "offsets.topic.replication.factor", Value: "1", Reason: "one node can hold one replica of __consumer_offsets (Kafka's default, 3, needs three brokers)"},
	{Key: "default.replication.factor", Value: "1", Reason: "one node can hold one replica (the same as Kafka's default; pinned by the profile)"},
}

// Overrides returns the defaults p sets, in the order they apply.
func (p Profile) Overrides() []Override {
	if p == ProfileSingleNode {
		out := make([]Override, len(singleNodeOverrides))
		copy(out, singleNodeOverrides)
		return out
	}
	return nil
}
