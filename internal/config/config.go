package config

import (
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Forever is the duration Kafka spells Long.MAX_VALUE milliseconds.
const Forever = time.Duration(math.MaxInt64)

// Roles are the node's process.roles.
type Roles struct {
	Broker     bool
	Controller bool
}

func (r Roles) String() string {
	switch {
	case r.Broker && r.Controller:
		return "broker,controller"
	case r.Broker:
		return "broker"
	case r.Controller:
		return "controller"
	}
	return ""
}

// Broker is a loaded, validated broker configuration: typed fields for the
// keys Sluice implements (durations as time.Duration; Long.MAX_VALUE
// milliseconds is Forever), and every broker key's value for Describe.
type Broker struct {
	// Node and metadata quorum.
	NodeID                     int32         // node.id (or its synonym broker.id)
	Roles                      Roles         // process.roles
	Voters                     []Voter       // controller.quorum.voters
	ControllerListenerNames    []string      // controller.listener.names, upper-cased
	ElectionTimeout            time.Duration // controller.quorum.election.timeout.ms
	HeartbeatInterval          time.Duration // broker.heartbeat.interval.ms
	SessionTimeout             time.Duration // broker.session.timeout.ms
	InitialRegistrationTimeout time.Duration // initial.broker.registration.timeout.ms
	// MetadataLogDir is metadata.log.dir, or LogDir when that is unset.
	MetadataLogDir            string
	SnapshotMaxNewRecordBytes int64         // metadata.log.max.record.bytes.between.snapshots
	SnapshotMaxInterval       time.Duration // metadata.log.max.snapshot.interval.ms
	Rack                      string        // broker.rack ("" for none)
	// RackAwareReads: replica.selector.class is Kafka's
	// RackAwareReplicaSelector, so a leader sends a consumer that names
	// its rack to an in-sync replica in that rack (KIP-392).
	RackAwareReads bool

	// Network and requests.
	InterBrokerListenerName string // inter.broker.listener.name, or the name of security.inter.broker.protocol
	SocketRequestMaxBytes   int32  // socket.request.max.bytes
	// ConnectionsMaxIdle closes idle connections; negative never does
	// (connections.max.idle.ms).
	ConnectionsMaxIdle time.Duration
	MaxConnections     int32 // max.connections
	QueuedMaxRequests  int32 // queued.max.requests
	// QueuedMaxRequestBytes bounds the bytes of queued requests; zero or
	// negative is no bound (queued.max.request.bytes).
	QueuedMaxRequestBytes           int64
	RequestTimeout                  time.Duration // request.timeout.ms
	SocketConnectionSetupTimeout    time.Duration // socket.connection.setup.timeout.ms
	SocketConnectionSetupTimeoutMax time.Duration // socket.connection.setup.timeout.max.ms
	MessageMaxBytes                 int32         // message.max.bytes
	FetchMaxBytes                   int32         // fetch.max.bytes
	FetchSessionCacheSlots          int32         // max.incremental.fetch.session.cache.slots
	MaxRequestPartitionSizeLimit    int32         // max.request.partition.size.limit

	// Topics and logs.
	// LogDir is the one data directory: log.dirs when set, else log.dir.
	LogDir                             string
	NumPartitions                      int32         // num.partitions
	DefaultReplicationFactor           int32         // default.replication.factor
	AutoCreateTopics                   bool          // auto.create.topics.enable
	DeleteTopicEnable                  bool          // delete.topic.enable
	MinInsyncReplicas                  int32         // min.insync.replicas
	UncleanLeaderElection              bool          // unclean.leader.election.enable
	UncleanElectionCheckInterval       time.Duration // unclean.leader.election.interval.ms
	RetentionCheckInterval             time.Duration // log.retention.check.interval.ms
	FlushSchedulerInterval             time.Duration // log.flush.scheduler.interval.ms
	FlushOffsetCheckpointInterval      time.Duration // log.flush.offset.checkpoint.interval.ms
	FlushStartOffsetCheckpointInterval time.Duration // log.flush.start.offset.checkpoint.interval.ms
	InitialTaskDelay                   time.Duration // log.initial.task.delay.ms
	RecoveryThreadsPerDataDir          int32         // num.recovery.threads.per.data.dir
	CleanerEnable                      bool          // log.cleaner.enable
	CleanerBackoff                     time.Duration // log.cleaner.backoff.ms
	CleanerThreads                     int32         // log.cleaner.threads
	CleanerDedupeBufferSize            int64         // log.cleaner.dedupe.buffer.size
	CleanerIOBufferSize                int32         // log.cleaner.io.buffer.size
	CleanerLoadFactor                  float64       // log.cleaner.io.buffer.load.factor
	CleanerMaxIOBytesPerSecond         float64       // log.cleaner.io.max.bytes.per.second
	// Log holds the topic defaults derived from the log.* keys.
	Log LogDefaults

	// Replication and leadership.
	ReplicaLagTimeMax                      time.Duration // replica.lag.time.max.ms
	ReplicaFetchWaitMax                    time.Duration // replica.fetch.wait.max.ms
	ReplicaFetchMinBytes                   int32         // replica.fetch.min.bytes
	ReplicaFetchMaxBytes                   int32         // replica.fetch.max.bytes
	ReplicaFetchResponseMaxBytes           int32         // replica.fetch.response.max.bytes
	ReplicaFetchBackoff                    time.Duration // replica.fetch.backoff.ms
	ReplicaSocketTimeout                   time.Duration // replica.socket.timeout.ms
	ReplicaHighWatermarkCheckpointInterval time.Duration // replica.high.watermark.checkpoint.interval.ms
	NumReplicaFetchers                     int32         // num.replica.fetchers
	LeaderReplicationThrottledRate         int64         // leader.replication.throttled.rate
	FollowerReplicationThrottledRate       int64         // follower.replication.throttled.rate
	ReplicationQuotaWindowNum              int32         // replication.quota.window.num
	ReplicationQuotaWindowSize             time.Duration // replication.quota.window.size.seconds
	AutoLeaderRebalance                    bool          // auto.leader.rebalance.enable
	LeaderImbalanceCheckInterval           time.Duration // leader.imbalance.check.interval.seconds
	LeaderImbalancePerBrokerPercentage     int32         // leader.imbalance.per.broker.percentage

	// Consumer groups, offsets and producer ids.
	GroupMinSessionTimeout            time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeout            time.Duration // group.max.session.timeout.ms
	GroupInitialRebalanceDelay        time.Duration // group.initial.rebalance.delay.ms
	GroupMaxSize                      int32         // group.max.size
	GroupCoordinatorAppendLinger      time.Duration // group.coordinator.append.linger.ms
	GroupRebalanceProtocols           []string      // group.coordinator.rebalance.protocols (classic)
	OffsetsTopicReplicationFactor     int16         // offsets.topic.replication.factor
	OffsetsTopicNumPartitions         int32         // offsets.topic.num.partitions
	OffsetsTopicSegmentBytes          int32         // offsets.topic.segment.bytes
	OffsetsTopicCompressionCodec      int8          // offsets.topic.compression.codec
	OffsetsRetention                  time.Duration // offsets.retention.minutes
	OffsetsRetentionCheckInterval     time.Duration // offsets.retention.check.interval.ms
	OffsetsCommitTimeout              time.Duration // offsets.commit.timeout.ms
	OffsetsLoadBufferSize             int32         // offsets.load.buffer.size
	OffsetMetadataMaxBytes            int32         // offset.metadata.max.bytes
	ProducerIDExpiration              time.Duration // producer.id.expiration.ms
	ProducerIDExpirationCheckInterval time.Duration // producer.id.expiration.check.interval.ms

	// Sluice's own keys.
	MetricsListen          string // metrics.listen; empty: off
	MetricsPartitionLabels bool   // metrics.partition.labels

	// Not properties; set by code.
	// NoSendfile reads fetched records into each response instead of
	// sending them from the segment files with sendfile (for measuring
	// the difference, and for tests of that path).
	NoSendfile bool

	profile     Profile
	file        string
	settings    map[string]*setting // every broker key
	listeners   []Listener
	advertised  []Listener
	protocolMap map[string]SecurityProtocol
}

// setting is one broker key's value and where it came from.
type setting struct {
	value  string // normalized
	null   bool   // unset (Kafka's null)
	origin Origin
	line   int
}

// Listeners returns the listeners (listeners), with their security
// protocols; controller listeners included.
func (b *Broker) Listeners() []Listener { return slices.Clone(b.listeners) }

// AdvertisedListeners returns the broker listeners clients are told to
// connect to: advertised.listeners, else the listeners, without the
// controller listeners. An empty host is left for the broker to fill in
// (Kafka advertises the machine's canonical host name).
func (b *Broker) AdvertisedListeners() []Listener { return slices.Clone(b.advertised) }

// ControllerListeners returns the listeners named by
// controller.listener.names (none on a broker-only node).
func (b *Broker) ControllerListeners() []Listener {
	var out []Listener
	for _, l := range b.listeners {
		if slices.Contains(b.ControllerListenerNames, l.Name) {
			out = append(out, l)
		}
	}
	return out
}

// Profile returns the profile the configuration was loaded with.
func (b *Broker) Profile() Profile { return b.profile }

// Get returns a broker key's normalized value; ok is false for a key that
// is not a broker key or is unset (null).
func (b *Broker) Get(key string) (value string, ok bool) {
	s := b.settings[key]
	if s == nil || s.null {
		return "", false
	}
	return s.value, true
}

// Load builds the broker configuration from a properties file's contents
// (props, as ParseProperties returns them; nil for none) and --set
// key=value overrides, in this order of precedence, lowest first: Kafka's
// defaults, Sluice's differences (Entry.SluiceDefault), the profile, the
// file, the overrides. An empty value for a key whose Kafka default is
// null leaves it unset. Every error is collected: the result is an Errors
// naming each key (use LoadFile or LoadProperties for line numbers).
func Load(props map[string]string, overrides []string, profile Profile) (*Broker, error) {
	ps := make([]Property, 0, len(props))
	for _, k := range sortedKeys(props) {
		ps = append(ps, Property{Key: k, Value: props[k]})
	}
	return LoadProperties("", ps, overrides, profile)
}

// LoadFile reads a properties file and loads it as Load does; errors name
// the file and line.
func LoadFile(path string, overrides []string, profile Profile) (*Broker, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	props, err := ReadProperties(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return LoadProperties(path, props, overrides, profile)
}

// LoadProperties loads props, read from file (for error messages), as
// Load does.
func LoadProperties(file string, props []Property, overrides []string, profile Profile) (*Broker, error) {
	b := &Broker{profile: profile, file: file, settings: map[string]*setting{}}
	for i := range registry {
		e := &registry[i]
		if !e.Scope.Broker() {
			continue
		}
		s := &setting{value: e.Default, null: e.Null, origin: OriginKafkaDefault}
		if e.HasSluiceDefault() {
			s.value, s.null, s.origin = e.SluiceDefault, false, OriginSluiceDefault
		}
		b.settings[e.Name] = s
	}
	for _, o := range profile.Overrides() {
		if !o.Derived {
			b.settings[o.Key] = &setting{value: o.Value, origin: OriginProfile}
		}
	}
	var errs Errors
	for _, p := range props {
		if err := b.set(p.Key, p.Value, OriginFile, p.Line); err != nil {
			errs = append(errs, err)
		}
	}
	for _, kv := range overrides {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			errs = append(errs, &Error{Key: kv, Origin: OriginFlag, Err: invalidf("--set wants key=value")})
			continue
		}
		if err := b.set(strings.TrimSpace(k), v, OriginFlag, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Checks between keys would see defaults in place of the bad
		// values and report errors that are not the user's.
		return nil, errs
	}
	if errs = b.resolve(); len(errs) > 0 {
		return nil, errs
	}
	b.populate()
	return b, nil
}

// set applies one user-given key (file or --set).
func (b *Broker) set(key, raw string, origin Origin, line int) *Error {
	fail := func(err error) *Error {
		return &Error{Key: key, Value: raw, Origin: origin, File: b.file, Line: line, Err: err}
	}
	e := byName[key]
	if e == nil || !e.Scope.Broker() {
		return fail(unknownKey(key, ScopeBroker))
	}
	v, err := checkValue(e, raw)
	if err != nil {
		return fail(err)
	}
	b.settings[key] = &setting{value: v, null: e.Null && v == "", origin: origin, line: line}
	return nil
}

// given reports whether the user gave key (in the file or by --set).
func (b *Broker) given(key string) bool { return b.settings[key].origin >= OriginFile }

// fail builds an error about key's current value.
func (b *Broker) fail(key string, err error) *Error {
	s := b.settings[key]
	e := &Error{Key: key, Value: s.value, Origin: s.origin, Err: err}
	if s.origin == OriginFile {
		e.File, e.Line = b.file, s.line
	}
	return e
}

func (b *Broker) str(key string) string { return b.settings[key].value }

func (b *Broker) i64(key string) int64 {
	n, _ := strconv.ParseInt(b.settings[key].value, 10, 64)
	return n
}

func (b *Broker) i32(key string) int32 { return int32(b.i64(key)) }

func (b *Broker) f64(key string) float64 {
	f, _ := strconv.ParseFloat(b.settings[key].value, 64)
	return f
}

func (b *Broker) boolean(key string) bool { return b.settings[key].value == "true" }

// dur converts a numeric key to a Duration by its unit.
func (b *Broker) dur(key string) time.Duration { return durationOf(b.i64(key), byName[key].Unit) }

// resolve derives what comes from several keys (node id, log directory,
// listeners, voters) and checks the keys against each other as Kafka's
// KafkaConfig does.
func (b *Broker) resolve() Errors {
	var errs Errors
	add := func(key string, err error) { errs = append(errs, b.fail(key, err)) }

	// node.id and its synonym broker.id
	if b.given("broker.id") && !b.given("node.id") {
		b.settings["node.id"] = b.settings["broker.id"]
	} else if b.given("broker.id") && b.str("broker.id") != b.str("node.id") {
		add("broker.id", invalidf("must equal node.id (%s); broker.id is its synonym", b.str("node.id")))
	}
	roles := splitList(b.str("process.roles"))
	b.Roles = Roles{Broker: slices.Contains(roles, "broker"), Controller: slices.Contains(roles, "controller")}
	if len(roles) == 0 {
		add("process.roles", invalidf("missing: give broker, controller or broker,controller (ZooKeeper mode, which an empty process.roles means, is not supported)"))
	}
	if b.i64("node.id") < 0 {
		add("node.id", invalidf("missing: every node needs a node.id of 0 or more"))
	}
	b.ControllerListenerNames = nil
	if !b.settings["controller.listener.names"].null {
		for _, n := range splitList(b.str("controller.listener.names")) {
			b.ControllerListenerNames = append(b.ControllerListenerNames, strings.ToUpper(n))
		}
	}
	if len(b.ControllerListenerNames) == 0 {
		add("controller.listener.names", invalidf("missing: name the controller listener(s)"))
	}
	if len(roles) == 0 || len(b.ControllerListenerNames) == 0 {
		// The checks below depend on the roles and on which listeners
		// are the controller's.
		return errs
	}

	// The log directory.
	b.LogDir = b.str("log.dir")
	if !b.settings["log.dirs"].null {
		b.LogDir = splitList(b.str("log.dirs"))[0]
	}
	b.MetadataLogDir = b.LogDir
	if !b.settings["metadata.log.dir"].null {
		b.MetadataLogDir = b.str("metadata.log.dir")
	}

	// Listeners and their security protocols.
	b.protocolMap, _ = parseProtocolMap(b.str("listener.security.protocol.map"))
	if !b.given("listener.security.protocol.map") {
		// Kafka maps the controller listeners to PLAINTEXT when the map
		// is left at its default.
		for _, n := range b.ControllerListenerNames {
			if _, ok := b.protocolMap[n]; !ok {
				b.protocolMap[n] = ProtocolPlaintext
			}
		}
	}
	mapKey := "listeners"
	if b.given("listener.security.protocol.map") {
		mapKey = "listener.security.protocol.map"
	}
	protocols := func(key string, ls []Listener) bool {
		ok := true
		for i := range ls {
			p, found := b.protocolMap[ls[i].Name]
			switch {
			case !found:
				add(key, invalidf("listener %s has no security protocol in listener.security.protocol.map", ls[i].Name))
				ok = false
			case p != ProtocolPlaintext:
				add(mapKey, notSupportedf("not supported: listener %s uses security protocol %s, which needs %s; only PLAINTEXT", ls[i].Name, p, protocolFeature(p)))
				ok = false
			}
			ls[i].Protocol = p
		}
		return ok
	}
	b.listeners, _ = ParseListeners(b.str("listeners"))
	if !protocols("listeners", b.listeners) {
		return errs
	}
	if err := distinctPorts(b.listeners); err != nil {
		add("listeners", err)
	}
	isController := func(l Listener) bool { return slices.Contains(b.ControllerListenerNames, l.Name) }
	listenerNames := map[string]bool{}
	for _, l := range b.listeners {
		listenerNames[l.Name] = true
	}
	advKey := "advertised.listeners"
	if b.settings[advKey].null {
		b.advertised = nil
		for _, l := range b.listeners {
			if !isController(l) {
				b.advertised = append(b.advertised, l)
			}
		}
	} else {
		all, _ := ParseListeners(b.str(advKey))
		if !protocols(advKey, all) {
			return errs
		}
		b.advertised = nil
		for _, l := range all {
			if !listenerNames[l.Name] {
				add(advKey, invalidf("listener %s is not one of listeners (%s)", l.Name, b.str("listeners")))
			}
			if !isController(l) {
				b.advertised = append(b.advertised, l)
			}
		}
	}
	for _, l := range b.advertised {
		if l.Host == "0.0.0.0" {
			msg := "cannot advertise the non-routable address 0.0.0.0; give a routable address"
			if b.settings[advKey].null {
				msg += " in advertised.listeners (listeners binds " + l.String() + ")"
			}
			add(advKey, invalidf("%s", msg))
		}
	}

	// Inter-broker listener.
	if !b.settings["inter.broker.listener.name"].null {
		if b.given("security.inter.broker.protocol") {
			add("inter.broker.listener.name", invalidf("give only one of inter.broker.listener.name and security.inter.broker.protocol"))
		}
		b.InterBrokerListenerName = strings.ToUpper(b.str("inter.broker.listener.name"))
	} else {
		b.InterBrokerListenerName = strings.ToUpper(b.str("security.inter.broker.protocol"))
	}
	if b.Roles.Broker {
		if len(b.advertised) == 0 {
			add("listeners", invalidf("a broker needs at least one listener that is not a controller listener"))
		} else if !slices.ContainsFunc(b.advertised, func(l Listener) bool { return l.Name == b.InterBrokerListenerName }) {
			key := "inter.broker.listener.name"
			if b.settings[key].null {
				key = "listeners"
			}
			add(key, invalidf("the inter-broker listener %s is not among the advertised broker listeners (%s)", b.InterBrokerListenerName, listenerList(b.advertised)))
		}
	}

	// The metadata quorum.
	var controllerListeners []Listener
	for _, l := range b.listeners {
		if isController(l) {
			controllerListeners = append(controllerListeners, l)
		}
	}
	if b.Roles.Controller {
		for _, n := range b.ControllerListenerNames {
			if !listenerNames[n] {
				add("controller.listener.names", invalidf("controller listener %s is not one of listeners (%s); a controller listens on it", n, b.str("listeners")))
			}
		}
		if !b.Roles.Broker && len(controllerListeners) != len(b.listeners) {
			add("listeners", invalidf("a controller-only node (process.roles=controller) must list only its controller listeners (%s)", strings.Join(b.ControllerListenerNames, ",")))
		}
	} else if len(controllerListeners) > 0 {
		add("listeners", invalidf("a broker-only node must not listen on its controller listener %s", controllerListeners[0].Name))
	} else {
		for _, n := range b.ControllerListenerNames {
			if p, ok := b.protocolMap[n]; !ok {
				add("listener.security.protocol.map", invalidf("controller listener %s has no security protocol", n))
			} else if p != ProtocolPlaintext {
				add("listener.security.protocol.map", notSupportedf("not supported: controller listener %s uses security protocol %s, which needs %s; only PLAINTEXT", n, p, protocolFeature(p)))
			}
		}
	}
	if b.profile == ProfileSingleNode && !b.given("controller.quorum.voters") && b.str("controller.quorum.voters") == "" {
		v, err := b.deriveVoters(controllerListeners)
		if err != nil {
			add("controller.quorum.voters", err)
			return errs
		}
		b.settings["controller.quorum.voters"] = &setting{value: v, origin: OriginProfile}
	}
	b.Voters, _ = ParseVoters(b.str("controller.quorum.voters"))
	nodeID := b.i32("node.id")
	inVoters := slices.ContainsFunc(b.Voters, func(v Voter) bool { return v.ID == nodeID })
	switch {
	case len(b.Voters) == 0:
		add("controller.quorum.voters", invalidf("missing: list every controller as id@host:port"))
	case b.Roles.Controller && !inVoters:
		add("controller.quorum.voters", invalidf("a controller must be one of the voters, and node.id %d is not", nodeID))
	case !b.Roles.Controller && inVoters:
		add("controller.quorum.voters", invalidf("node.id %d is a voter, but process.roles has no controller role", nodeID))
	}

	// Limits between keys, as Kafka requires; the error names whichever
	// of the two was given last.
	pair := func(lo, hi, msg string) {
		if b.i64(lo) > b.i64(hi) {
			key := lo
			if b.settings[hi].origin > b.settings[lo].origin {
				key = hi
			}
			add(key, invalidf("%s (%s) must not exceed %s (%s)%s", lo, b.str(lo), hi, b.str(hi), msg))
		}
	}
	pair("replica.fetch.wait.max.ms", "replica.socket.timeout.ms", ", or replica fetches time out")
	pair("replica.fetch.wait.max.ms", "replica.lag.time.max.ms", ", or the ISR changes needlessly")
	pair("group.min.session.timeout.ms", "group.max.session.timeout.ms", "")
	pair("log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "")
	if th := b.i64("log.cleaner.threads"); b.boolean("log.cleaner.enable") && th > 0 && !cleanerMemoryEnough(b.i64("log.cleaner.dedupe.buffer.size"), th) {
		add("log.cleaner.dedupe.buffer.size", invalidf("must be more than 1 MiB per cleaner thread (log.cleaner.threads is %d), as Kafka requires", th))
	}
	if q := b.i64("queued.max.request.bytes"); q > 0 && q < b.i64("socket.request.max.bytes") {
		key := "queued.max.request.bytes"
		if b.settings["socket.request.max.bytes"].origin > b.settings[key].origin {
			key = "socket.request.max.bytes"
		}
		add(key, invalidf("queued.max.request.bytes (%s) must be at least socket.request.max.bytes (%s), or 0 or less for no bound",
			b.str("queued.max.request.bytes"), b.str("socket.request.max.bytes")))
	}

	// Segment roll and retention, after the ms/minutes/hours precedence.
	source := func(topicKey string) string {
		for _, s := range topicSynonyms[topicKey] {
			if !b.settings[s.key].null {
				return s.key
			}
		}
		return topicSynonyms[topicKey][0].key
	}
	if v, _ := b.topicDefault(byName["segment.ms"]); v != "" {
		if n, _ := strconv.ParseInt(v, 10, 64); n < 1 {
			add(source("segment.ms"), invalidf("the segment roll time must be at least 1 ms"))
		}
	}
	if v, _ := b.topicDefault(byName["segment.jitter.ms"]); v != "" {
		if n, _ := strconv.ParseInt(v, 10, 64); n < 0 {
			add(source("segment.jitter.ms"), invalidf("the segment roll jitter must not be negative"))
		}
	}
	if v, _ := b.topicDefault(byName["retention.ms"]); v == "0" {
		add(source("retention.ms"), invalidf("retention must be unlimited (negative) or at least 1 ms"))
	}
	return errs
}

// deriveVoters builds the single-node profile's controller.quorum.voters:
// this node at its first controller listener.
func (b *Broker) deriveVoters(controllerListeners []Listener) (string, error) {
	if len(controllerListeners) == 0 {
		return "", invalidf("missing: cannot derive the voter: no controller listener in listeners (the single-node default is %s)", singleNodeOverride("listeners"))
	}
	l := controllerListeners[0]
	for _, n := range b.ControllerListenerNames { // the first named wins
		if i := slices.IndexFunc(controllerListeners, func(l Listener) bool { return l.Name == n }); i >= 0 {
			l = controllerListeners[i]
			break
		}
	}
	if l.Port == 0 {
		return "", invalidf("missing: cannot derive the voter from controller listener %s on port 0; give controller.quorum.voters", l)
	}
	host := l.Host
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return b.str("node.id") + "@" + net.JoinHostPort(host, strconv.Itoa(l.Port)), nil
}

func singleNodeOverride(key string) string {
	for _, o := range singleNodeOverrides {
		if o.Key == key {
			return o.Value
		}
	}
	return ""
}

func listenerList(ls []Listener) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Name
	}
	return strings.Join(names, ",")
}

// distinctPorts checks that listeners use different ports (port 0 aside),
// except an IPv4 and an IPv6 address sharing one, as Kafka allows.
func distinctPorts(ls []Listener) error {
	byPort := map[int][]Listener{}
	for _, l := range ls {
		if l.Port != 0 {
			byPort[l.Port] = append(byPort[l.Port], l)
		}
	}
	for port, same := range byPort {
		if len(same) == 1 {
			continue
		}
		if len(same) == 2 {
			a, b := net.ParseIP(same[0].Host), net.ParseIP(same[1].Host)
			if a != nil && b != nil && (a.To4() == nil) != (b.To4() == nil) {
				continue
			}
		}
		return invalidf("listeners %s share port %d; each needs its own (or one IPv4 and one IPv6 address)", listenerList(same), port)
	}
	return nil
}

// populate fills the typed fields from the settings.
func (b *Broker) populate() {
	b.NodeID = b.i32("node.id")
	b.ElectionTimeout = b.dur("controller.quorum.election.timeout.ms")
	b.HeartbeatInterval = b.dur("broker.heartbeat.interval.ms")
	b.SessionTimeout = b.dur("broker.session.timeout.ms")
	b.InitialRegistrationTimeout = b.dur("initial.broker.registration.timeout.ms")
	b.SnapshotMaxNewRecordBytes = b.i64("metadata.log.max.record.bytes.between.snapshots")
	b.SnapshotMaxInterval = b.dur("metadata.log.max.snapshot.interval.ms")
	b.Rack = b.str("broker.rack")
	b.RackAwareReads = strings.TrimSpace(b.str("replica.selector.class")) == RackAwareReplicaSelector

	if !b.settings["metrics.listen"].null {
		b.MetricsListen = b.str("metrics.listen")
	}
	b.MetricsPartitionLabels = b.boolean("metrics.partition.labels")

	b.SocketRequestMaxBytes = b.i32("socket.request.max.bytes")
	b.ConnectionsMaxIdle = b.dur("connections.max.idle.ms")
	b.MaxConnections = b.i32("max.connections")
	b.QueuedMaxRequests = b.i32("queued.max.requests")
	b.QueuedMaxRequestBytes = b.i64("queued.max.request.bytes")
	b.RequestTimeout = b.dur("request.timeout.ms")
	b.SocketConnectionSetupTimeout = b.dur("socket.connection.setup.timeout.ms")
	b.SocketConnectionSetupTimeoutMax = b.dur("socket.connection.setup.timeout.max.ms")
	b.MessageMaxBytes = b.i32("message.max.bytes")
	b.FetchMaxBytes = b.i32("fetch.max.bytes")
	b.FetchSessionCacheSlots = b.i32("max.incremental.fetch.session.cache.slots")
	b.MaxRequestPartitionSizeLimit = b.i32("max.request.partition.size.limit")

	b.NumPartitions = b.i32("num.partitions")
	b.DefaultReplicationFactor = b.i32("default.replication.factor")
	b.AutoCreateTopics = b.boolean("auto.create.topics.enable")
	b.DeleteTopicEnable = b.boolean("delete.topic.enable")
	b.MinInsyncReplicas = b.i32("min.insync.replicas")
	b.UncleanLeaderElection = b.boolean("unclean.leader.election.enable")
	b.UncleanElectionCheckInterval = b.dur("unclean.leader.election.interval.ms")
	b.RetentionCheckInterval = b.dur("log.retention.check.interval.ms")
	b.FlushSchedulerInterval = b.dur("log.flush.scheduler.interval.ms")
	b.FlushOffsetCheckpointInterval = b.dur("log.flush.offset.checkpoint.interval.ms")
	b.FlushStartOffsetCheckpointInterval = b.dur("log.flush.start.offset.checkpoint.interval.ms")
	b.InitialTaskDelay = b.dur("log.initial.task.delay.ms")
	b.RecoveryThreadsPerDataDir = b.i32("num.recovery.threads.per.data.dir")
	b.CleanerEnable = b.boolean("log.cleaner.enable")
	b.CleanerBackoff = b.dur("log.cleaner.backoff.ms")
	b.CleanerThreads = b.i32("log.cleaner.threads")
	b.CleanerDedupeBufferSize = b.i64("log.cleaner.dedupe.buffer.size")
	b.CleanerIOBufferSize = b.i32("log.cleaner.io.buffer.size")
	b.CleanerLoadFactor = b.f64("log.cleaner.io.buffer.load.factor")
	b.CleanerMaxIOBytesPerSecond = b.f64("log.cleaner.io.max.bytes.per.second")
	b.Log = logDefaults(b.TopicDefaults())

	b.ReplicaLagTimeMax = b.dur("replica.lag.time.max.ms")
	b.ReplicaFetchWaitMax = b.dur("replica.fetch.wait.max.ms")
	b.ReplicaFetchMinBytes = b.i32("replica.fetch.min.bytes")
	b.ReplicaFetchMaxBytes = b.i32("replica.fetch.max.bytes")
	b.ReplicaFetchResponseMaxBytes = b.i32("replica.fetch.response.max.bytes")
	b.ReplicaFetchBackoff = b.dur("replica.fetch.backoff.ms")
	b.ReplicaSocketTimeout = b.dur("replica.socket.timeout.ms")
	b.ReplicaHighWatermarkCheckpointInterval = b.dur("replica.high.watermark.checkpoint.interval.ms")
	b.NumReplicaFetchers = b.i32("num.replica.fetchers")
	b.LeaderReplicationThrottledRate = b.i64("leader.replication.throttled.rate")
	b.FollowerReplicationThrottledRate = b.i64("follower.replication.throttled.rate")
	b.ReplicationQuotaWindowNum = b.i32("replication.quota.window.num")
	b.ReplicationQuotaWindowSize = time.Duration(b.i32("replication.quota.window.size.seconds")) * time.Second
	b.AutoLeaderRebalance = b.boolean("auto.leader.rebalance.enable")
	b.LeaderImbalanceCheckInterval = b.dur("leader.imbalance.check.interval.seconds")
	b.LeaderImbalancePerBrokerPercentage = b.i32("leader.imbalance.per.broker.percentage")

	b.GroupMinSessionTimeout = b.dur("group.min.session.timeout.ms")
	b.GroupMaxSessionTimeout = b.dur("group.max.session.timeout.ms")
	b.GroupInitialRebalanceDelay = b.dur("group.initial.rebalance.delay.ms")
	b.GroupMaxSize = b.i32("group.max.size")
	b.GroupCoordinatorAppendLinger = b.dur("group.coordinator.append.linger.ms")
	b.GroupRebalanceProtocols = splitList(b.str("group.coordinator.rebalance.protocols"))
	b.OffsetsTopicReplicationFactor = int16(b.i64("offsets.topic.replication.factor"))
	b.OffsetsTopicNumPartitions = b.i32("offsets.topic.num.partitions")
	b.OffsetsTopicSegmentBytes = b.i32("offsets.topic.segment.bytes")
	b.OffsetsTopicCompressionCodec = int8(b.i64("offsets.topic.compression.codec"))
	b.OffsetsRetention = b.dur("offsets.retention.minutes")
	b.OffsetsRetentionCheckInterval = b.dur("offsets.retention.check.interval.ms")
	b.OffsetsCommitTimeout = b.dur("offsets.commit.timeout.ms")
	b.OffsetsLoadBufferSize = b.i32("offsets.load.buffer.size")
	b.OffsetMetadataMaxBytes = b.i32("offset.metadata.max.bytes")
	b.ProducerIDExpiration = b.dur("producer.id.expiration.ms")
	b.ProducerIDExpirationCheckInterval = b.dur("producer.id.expiration.check.interval.ms")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
