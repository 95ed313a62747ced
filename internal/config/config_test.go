package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, props map[string]string, flags []string, p Profile) *Broker {
	t.Helper()
	b, err := Load(props, flags, p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b
}

// loadErrors loads and returns the errors, failing if there are none.
func loadErrors(t *testing.T, props map[string]string, flags []string, p Profile) Errors {
	t.Helper()
	_, err := Load(props, flags, p)
	if err == nil {
		t.Fatalf("Load(%v, %v) succeeded", props, flags)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load error %v is not Errors", err)
	}
	return es
}

// kraftCluster is what a cluster node of ProfileKafka must give, as for
// Kafka: a broker-only node 4 with three controllers elsewhere.
var kraftBroker = map[string]string{
	"node.id":                   "4",
	"process.roles":             "broker",
	"controller.quorum.voters":  "1@c1:9093,2@c2:9093,3@c3:9093",
	"controller.listener.names": "CONTROLLER",
	"listeners":                 "PLAINTEXT://:9092",
	"advertised.listeners":      "PLAINTEXT://b4.example.com:9092",
}

func TestSingleNodeDefaults(t *testing.T) {
	b := mustLoad(t, nil, nil, ProfileSingleNode)
	if b.NodeID != 1 || b.Roles != (Roles{Broker: true, Controller: true}) {
		t.Errorf("node %d roles %v", b.NodeID, b.Roles)
	}
	want := []Listener{
		{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, Protocol: ProtocolPlaintext},
		{Name: "CONTROLLER", Host: "127.0.0.1", Port: 9093, Protocol: ProtocolPlaintext},
	}
	if got := b.Listeners(); !reflect.DeepEqual(got, want) {
		t.Errorf("listeners %+v, want %+v", got, want)
	}
	if got := b.AdvertisedListeners(); !reflect.DeepEqual(got, want[:1]) {
		t.Errorf("advertised %+v", got)
	}
	if got := b.ControllerListeners(); !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("controller listeners %+v", got)
	}
	if !reflect.DeepEqual(b.Voters, []Voter{{ID: 1, Host: "127.0.0.1", Port: 9093}}) {
		t.Errorf("voters %+v", b.Voters)
	}
	if b.InterBrokerListenerName != "PLAINTEXT" {
		t.Errorf("inter-broker listener %q", b.InterBrokerListenerName)
	}
	if b.LogDir != "./sluice-data" || b.MetadataLogDir != "./sluice-data" {
		t.Errorf("log dir %q, metadata %q", b.LogDir, b.MetadataLogDir)
	}
	if b.OffsetsTopicReplicationFactor != 1 || b.DefaultReplicationFactor != 1 || b.OffsetsTopicNumPartitions != 50 {
		t.Errorf("offsets RF %d, default RF %d, offsets partitions %d", b.OffsetsTopicReplicationFactor, b.DefaultReplicationFactor, b.OffsetsTopicNumPartitions)
	}
	// Kafka's defaults, typed.
	for name, c := range map[string]struct{ got, want any }{
		"message.max.bytes":                  {b.MessageMaxBytes, int32(1048588)},
		"num.partitions":                     {b.NumPartitions, int32(1)},
		"socket.request.max.bytes":           {b.SocketRequestMaxBytes, int32(104857600)},
		"connections.max.idle.ms":            {b.ConnectionsMaxIdle, 10 * time.Minute},
		"max.connections":                    {b.MaxConnections, int32(2147483647)},
		"queued.max.requests":                {b.QueuedMaxRequests, int32(500)},
		"group.initial.rebalance.delay.ms":   {b.GroupInitialRebalanceDelay, 3 * time.Second},
		"group.min.session.timeout.ms":       {b.GroupMinSessionTimeout, 6 * time.Second},
		"group.max.session.timeout.ms":       {b.GroupMaxSessionTimeout, 30 * time.Minute},
		"offsets.retention.minutes":          {b.OffsetsRetention, 7 * 24 * time.Hour},
		"offsets.commit.timeout.ms":          {b.OffsetsCommitTimeout, 5 * time.Second},
		"replica.lag.time.max.ms":            {b.ReplicaLagTimeMax, 30 * time.Second},
		"broker.session.timeout.ms":          {b.SessionTimeout, 9 * time.Second},
		"broker.heartbeat.interval.ms":       {b.HeartbeatInterval, 2 * time.Second},
		"leader.imbalance.check.interval":    {b.LeaderImbalanceCheckInterval, 5 * time.Minute},
		"log.retention.check.interval.ms":    {b.RetentionCheckInterval, 5 * time.Minute},
		"log.flush.scheduler.interval.ms":    {b.FlushSchedulerInterval, Forever},
		"auto.create.topics.enable":          {b.AutoCreateTopics, true},
		"unclean.leader.election.enable":     {b.UncleanLeaderElection, false},
		"group.coordinator.rebalance":        {b.GroupRebalanceProtocols, []string{"classic"}},
		"producer.id.expiration.ms":          {b.ProducerIDExpiration, 24 * time.Hour},
		"controller.quorum.election.timeout": {b.ElectionTimeout, time.Second},
		"num.recovery.threads.per.data.dir":  {b.RecoveryThreadsPerDataDir, int32(1)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	want2 := LogDefaults{
		SegmentBytes: 1 << 30, SegmentAge: 7 * 24 * time.Hour, SegmentIndexBytes: 10 << 20, IndexIntervalBytes: 4096,
		RetentionAge: 7 * 24 * time.Hour, RetentionBytes: -1, FlushMessages: 1, FlushInterval: Forever,
		Delete: true, DeleteRetention: 24 * time.Hour, MaxCompactionLag: Forever, MinCleanableDirtyRatio: 0.5,
		FileDeleteDelay: time.Minute, MaxMessageBytes: 1048588, TimestampType: "CreateTime",
		TimestampBeforeMax: Forever, TimestampAfterMax: Forever, TimestampDifferenceMax: Forever,
		CompressionType: "producer", MinInsyncReplicas: 1,
	}
	if b.Log != want2 {
		t.Errorf("log defaults\n got %+v\nwant %+v", b.Log, want2)
	}
}

func TestKafkaProfileNeedsClusterKeys(t *testing.T) {
	es := loadErrors(t, nil, nil, ProfileKafka)
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := []string{"process.roles", "node.id", "controller.listener.names"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("errors name %v, want %v:\n%v", keys, want, es)
	}
	b := mustLoad(t, kraftBroker, nil, ProfileKafka)
	if b.NodeID != 4 || b.Roles != (Roles{Broker: true}) || len(b.Voters) != 3 || len(b.ControllerListeners()) != 0 {
		t.Errorf("node %d roles %v voters %v", b.NodeID, b.Roles, b.Voters)
	}
	// Kafka's defaults where the single-node profile differs.
	if b.OffsetsTopicReplicationFactor != 3 || b.LogDir != "./sluice-data" {
		t.Errorf("offsets RF %d, log dir %q", b.OffsetsTopicReplicationFactor, b.LogDir)
	}
	if got := b.AdvertisedListeners(); len(got) != 1 || got[0].Host != "b4.example.com" {
		t.Errorf("advertised %+v", got)
	}
}

// TestPrecedence checks defaults < Sluice default < profile < file < --set.
func TestPrecedence(t *testing.T) {
	orf := "offsets.topic.replication.factor"
	lfm := "log.flush.interval.messages"
	for _, tc := range []struct {
		name    string
		profile Profile
		file    map[string]string
		flags   []string
		key     string
		want    string
		origin  Origin
	}{
		{"Kafka default", ProfileKafka, kraftBroker, nil, orf, "3", OriginKafkaDefault},
		{"profile over Kafka default", ProfileSingleNode, nil, nil, orf, "1", OriginProfile},
		{"file over profile", ProfileSingleNode, map[string]string{orf: "2"}, nil, orf, "2", OriginFile},
		{"--set over file", ProfileSingleNode, map[string]string{orf: "2"}, []string{orf + "=4"}, orf, "4", OriginFlag},
		{"last --set wins", ProfileSingleNode, nil, []string{orf + "=4", orf + "=5"}, orf, "5", OriginFlag},
		{"Sluice default over Kafka's", ProfileSingleNode, nil, nil, lfm, "1", OriginSluiceDefault},
		{"file over Sluice default", ProfileSingleNode, map[string]string{lfm: "1000"}, nil, lfm, "1000", OriginFile},
		{"--set over file (Sluice default)", ProfileSingleNode, map[string]string{lfm: "1000"}, []string{lfm + "=10"}, lfm, "10", OriginFlag},
		{"file over Kafka default", ProfileSingleNode, map[string]string{"num.partitions": "3"}, nil, "num.partitions", "3", OriginFile},
		{"--set over Kafka default", ProfileSingleNode, nil, []string{"num.partitions= 6 "}, "num.partitions", "6", OriginFlag},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustLoad(t, tc.file, tc.flags, tc.profile)
			v, _ := b.Get(tc.key)
			if v != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, v, tc.want)
			}
			var row *Row
			for _, r := range b.Describe() {
				if r.Name == tc.key {
					row = &r
				}
			}
			if row == nil || row.Origin != tc.origin || row.Value != tc.want {
				t.Fatalf("Describe row %+v, want origin %v", row, tc.origin)
			}
			wantSource := SourceDefaultConfig
			if tc.origin >= OriginFile {
				wantSource = SourceStaticBrokerConfig
			}
			if row.Source != wantSource {
				t.Errorf("source %v, want %v", row.Source, wantSource)
			}
		})
	}
	b := mustLoad(t, map[string]string{orf: "2"}, []string{orf + "=4"}, ProfileSingleNode)
	if b.OffsetsTopicReplicationFactor != 4 {
		t.Errorf("typed field %d, want 4", b.OffsetsTopicReplicationFactor)
	}
}

// TestOffsetsCommitTimeout: offsets.commit.timeout.ms, which bounds the
// group coordinator's wait for its writes to be replicated, is read in
// milliseconds and must be at least 1.
func TestOffsetsCommitTimeout(t *testing.T) {
	b := mustLoad(t, map[string]string{"offsets.commit.timeout.ms": "250"}, nil, ProfileSingleNode)
	if b.OffsetsCommitTimeout != 250*time.Millisecond {
		t.Errorf("offsets.commit.timeout.ms=250: %v", b.OffsetsCommitTimeout)
	}
	b = mustLoad(t, nil, []string{"offsets.commit.timeout.ms=1"}, ProfileSingleNode)
	if b.OffsetsCommitTimeout != time.Millisecond {
		t.Errorf("offsets.commit.timeout.ms=1: %v", b.OffsetsCommitTimeout)
	}
	for _, v := range []string{"0", "-5", "5s"} {
		es := loadErrors(t, nil, []string{"offsets.commit.timeout.ms=" + v}, ProfileSingleNode)
		if len(es) != 1 || es[0].Key != "offsets.commit.timeout.ms" || es[0].Value != v {
			t.Errorf("offsets.commit.timeout.ms=%s: %v", v, es)
		}
	}
}

// TestRejectedKeys checks keys of unsupported features, and unsupported
// values of implemented keys, are errors naming the key and the feature.
func TestRejectedKeys(t *testing.T) {
	for _, tc := range []struct{ key, value, msg string }{
		{"replica.selector.class", "com.example.Selector", "custom replica selectors"},
		{"sasl.enabled.mechanisms", "PLAIN", "SASL"},
		{"log.dirs", "/a,/b", "multiple log directories"},
		{"compression.type", "gzip", "only producer"},
		{"remote.log.storage.system.enable", "true", "tiered"},
		{"transaction.state.log.replication.factor", "1", "transactions"},
		{"transactional.id.expiration.ms", "1000", "transactions"},
		{"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "authorization"},
		{"ssl.keystore.location", "/etc/kafka/keystore.jks", "TLS"},
		{"group.consumer.session.timeout.ms", "30000", "KIP-848"},
		{"group.share.enable", "true", "share groups"},
		{"group.coordinator.rebalance.protocols", "classic,consumer", "KIP-848"},
		{"quota.window.num", "5", "quotas"},
		{"client.quota.callback.class", "com.example.Quota", "quotas"},
		{"zookeeper.connect", "localhost:2181", "ZooKeeper"},
		{"control.plane.listener.name", "CONTROL", "ZooKeeper"},
		{"delegation.token.secret.key", "s3cret", "delegation tokens"},
		{"log.local.retention.ms", "1000", "tiered"},
		{"num.replica.alter.log.dirs.threads", "2", "multiple log directories"},
		{"controller.quorum.bootstrap.servers", "c1:9093", "KIP-853"},
		{"eligible.leader.replicas.enable", "true", "KIP-966"},
		{"listener.name.plaintext.max.connections", "10", "per-listener"},
		{"listener.name.sasl_ssl.plain.sasl.jaas.config", "x", "per-listener"},
		{"config.providers", "file", "config providers"},
		{"config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider", "config providers"},
		{"security.inter.broker.protocol", "SSL", "TLS"},
		{"process.roles", "", "ZooKeeper"},
	} {
		es := loadErrors(t, map[string]string{tc.key: tc.value}, nil, ProfileSingleNode)
		if len(es) != 1 {
			t.Errorf("%s=%s: %d errors: %v", tc.key, tc.value, len(es), es)
			continue
		}
		e := es[0]
		if e.Key != tc.key || !errors.Is(e, ErrNotSupported) || !strings.Contains(e.Error(), tc.key) ||
			!strings.Contains(e.Error(), "not supported") || !strings.Contains(e.Error(), tc.msg) {
			t.Errorf("%s=%s: %q (key %s, not supported %v), want the key, \"not supported\" and %q", tc.key, tc.value, e, e.Key, errors.Is(e, ErrNotSupported), tc.msg)
		}
	}
}

// TestRejectedKeysAtKafkaDefault checks a rejected key set to Kafka's
// default is accepted: it asks for nothing Sluice lacks.
func TestRejectedKeysAtKafkaDefault(t *testing.T) {
	props := map[string]string{
		"remote.log.storage.system.enable":         "false",
		"transaction.state.log.replication.factor": "3",
		"sasl.enabled.mechanisms":                  "GSSAPI",
		"authorizer.class.name":                    "",
		"ssl.keystore.location":                    "",
		"zookeeper.connection.timeout.ms":          "",
		"eligible.leader.replicas.enable":          "FALSE",
		"ssl.enabled.protocols":                    "TLSv1.2, TLSv1.3",
		"log.cleaner.io.max.bytes.per.second":      "1.7976931348623157E308",
	}
	mustLoad(t, props, nil, ProfileSingleNode)
	for i := range registry {
		e := &registry[i]
		if e.Kind == Rejected && e.Scope.Broker() {
			mustLoad(t, map[string]string{e.Name: e.Default}, nil, ProfileSingleNode)
		}
	}
}

func TestIgnoredKeysAccepted(t *testing.T) {
	b := mustLoad(t, map[string]string{
		"num.network.threads":      "16",
		"num.io.threads":           "32",
		"socket.send.buffer.bytes": "-1",
		"metric.reporters":         "com.example.Reporter",
		"log.preallocate":          "true",
		"background.threads":       "4",
	}, nil, ProfileSingleNode)
	var ignored int
	for _, r := range b.Describe() {
		if r.Name == "num.io.threads" {
			if r.Value != "32" || r.Kind != Ignored || r.Source != SourceStaticBrokerConfig {
				t.Errorf("num.io.threads row %+v", r)
			}
		}
		if r.Kind == Ignored {
			ignored++
		}
	}
	if ignored == 0 {
		t.Error("Describe lists no ignored key")
	}
	// Types are still checked.
	es := loadErrors(t, map[string]string{"num.io.threads": "many", "log.preallocate": "yes"}, nil, ProfileSingleNode)
	if len(es) != 2 || !errors.Is(es, ErrInvalidValue) {
		t.Errorf("errors %v", es)
	}
}

func TestUnknownKeys(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"log.retention.hour", "did you mean log.retention.hours?"},
		{"num.partition", "did you mean num.partitions?"},
		{"Num.Partitions", "did you mean num.partitions?"},
		{"auto.create.topic.enable", "did you mean auto.create.topics.enable?"},
		{"log.cleaner.min.cleanable.dirty.ratio", "did you mean log.cleaner.min.cleanable.ratio?"},
		{"listener", "did you mean listeners?"},
		{"retention.ms", "retention.ms is a topic key; its broker default is log.retention.ms"},
		{"segment.bytes", "its broker default is log.segment.bytes"},
		{"completely.made.up.key", "unknown key"},
	} {
		es := loadErrors(t, map[string]string{tc.key: "1"}, nil, ProfileSingleNode)
		if len(es) != 1 || es[0].Key != tc.key || !errors.Is(es[0], ErrUnknownKey) || !strings.Contains(es[0].Error(), tc.want) {
			t.Errorf("%s: %v, want an unknown-key error with %q", tc.key, es, tc.want)
		}
		if tc.key == "completely.made.up.key" && strings.Contains(es[0].Error(), "did you mean") {
			t.Errorf("%s: suggests something: %v", tc.key, es[0])
		}
	}
}

func TestErrorsAggregatedWithLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.properties")
	content := "# a Sluice config\n" +
		"num.partitions=3\n" +
		"log.segment.bytes=abc\n" +
		"\n" +
		"sasl.enabled.mechanisms=PLAIN\n" +
		"log.retention.hour=5\n" +
		"listeners=PLAINTEXT://:9092,\\\n" +
		"   CONTROLLER://:bad\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path, []string{"num.partitions=zero", "noequals"}, ProfileSingleNode)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v", err)
	}
	want := []struct {
		key  string
		line int
		text string
	}{
		{"log.segment.bytes", 3, path + ":3: log.segment.bytes=abc: must be a 32-bit integer"},
		{"sasl.enabled.mechanisms", 5, path + ":5: sasl.enabled.mechanisms=PLAIN: not supported: SASL"},
		{"log.retention.hour", 6, path + ":6: log.retention.hour=5: unknown key (did you mean log.retention.hours?)"},
		{"listeners", 7, path + ":7: listeners="},
		{"num.partitions", 0, "--set num.partitions=zero: must be a 32-bit integer"},
		{"noequals", 0, "--set noequals: --set wants key=value"},
	}
	if len(es) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		if es[i].Key != w.key || es[i].Line != w.line || !strings.HasPrefix(es[i].Error(), w.text) {
			t.Errorf("error %d: %q (line %d), want %q at line %d", i, es[i], es[i].Line, w.text, w.line)
		}
	}

	// A syntax error names the file and line.
	if err := os.WriteFile(path, []byte("a=1\nb=\\uXY\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(path, nil, ProfileSingleNode)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || !strings.Contains(err.Error(), path+": line 2:") {
		t.Errorf("syntax error %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.properties"), nil, ProfileSingleNode); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestKafkaStyleFile loads the keys and values of the KRaft combined-mode
// server.properties that Kafka ships, with the lines Sluice rejects
// (transaction and share-group state topics) left out, and checks the
// rejected ones are named.
func TestKafkaStyleFile(t *testing.T) {
	file := `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`
	props, err := ParseProperties(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	b := mustLoad(t, props, nil, ProfileKafka)
	if b.LogDir != "/tmp/kraft-combined-logs" || b.Voters[0] != (Voter{ID: 1, Host: "localhost", Port: 9093}) {
		t.Errorf("log dir %q voters %v", b.LogDir, b.Voters)
	}
	if got := b.AdvertisedListeners(); len(got) != 1 || got[0].String() != "PLAINTEXT://localhost:9092" {
		t.Errorf("advertised %v", got)
	}
	// Kafka's file also sets the replication of the transaction and
	// share-group state topics: features Sluice lacks.
	props["transaction.state.log.replication.factor"] = "1"
	props["transaction.state.log.min.isr"] = "1"
	props["share.coordinator.state.topic.replication.factor"] = "1"
	props["share.coordinator.state.topic.min.isr"] = "1"
	es := loadErrors(t, props, nil, ProfileKafka)
	if len(es) != 4 || !errors.Is(es, ErrNotSupported) {
		t.Errorf("errors %v", es)
	}
}

func TestListenerChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
		msg   string
		ns    bool
	}{
		{"SSL listener", map[string]string{"listeners": "SSL://:9094,CONTROLLER://:9093", "inter.broker.listener.name": "SSL"}, "listeners", "uses security protocol SSL", true},
		{"SASL by map", map[string]string{"listeners": "EXTERNAL://:9094,CONTROLLER://:9093", "inter.broker.listener.name": "EXTERNAL",
			"listener.security.protocol.map": "EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT"}, "listener.security.protocol.map", "SASL", true},
		{"unmapped listener", map[string]string{"listeners": "EXTERNAL://:9094,CONTROLLER://:9093", "inter.broker.listener.name": "EXTERNAL"}, "listeners", "no security protocol", false},
		{"duplicate port", map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:9092"}, "listeners", "share port 9092", false},
		{"advertised 0.0.0.0", map[string]string{"listeners": "PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093"}, "advertised.listeners", "0.0.0.0", false},
		{"advertised not a listener", map[string]string{"advertised.listeners": "EXTERNAL://example.com:9092", "listener.security.protocol.map": "EXTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"}, "advertised.listeners", "not one of listeners", false},
		{"inter-broker listener unknown", map[string]string{"inter.broker.listener.name": "INTERNAL"}, "inter.broker.listener.name", "INTERNAL", false},
		{"both inter-broker keys", map[string]string{"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"}, "inter.broker.listener.name", "only one", false},
		{"no controller listener", map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092"}, "controller.listener.names", "not one of listeners", false},
		{"only controller listeners", map[string]string{"listeners": "CONTROLLER://127.0.0.1:9093"}, "listeners", "not a controller listener", false},
		{"controller not a voter", map[string]string{"controller.quorum.voters": "2@127.0.0.1:9093"}, "controller.quorum.voters", "node.id 1 is not", false},
		{"broker.id differs", map[string]string{"broker.id": "2", "node.id": "1"}, "broker.id", "must equal node.id", false},
		{"retention zero", map[string]string{"log.retention.minutes": "0"}, "log.retention.minutes", "at least 1 ms", false},
		{"roll via hours overridden by ms", map[string]string{"log.roll.hours": "1", "log.roll.ms": "0"}, "log.roll.ms", "at least 1 ms", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := loadErrors(t, tc.props, nil, ProfileSingleNode)
			found := false
			for _, e := range es {
				if e.Key == tc.key && strings.Contains(e.Error(), tc.msg) && errors.Is(e, ErrNotSupported) == tc.ns {
					found = true
				}
			}
			if !found {
				t.Errorf("want an error naming %s with %q (not supported %v); got\n%v", tc.key, tc.msg, tc.ns, es)
			}
		})
	}
}

func TestListenerVariants(t *testing.T) {
	// IPv4 and IPv6 on one port are allowed, as in Kafka.
	b := mustLoad(t, map[string]string{
		"listeners":                      "PLAINTEXT://0.0.0.0:9092,PLAINTEXT6://[::]:9092,CONTROLLER://127.0.0.1:9093",
		"advertised.listeners":           "PLAINTEXT://kafka.example.com:9092,PLAINTEXT6://[2001:db8::1]:9092",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,PLAINTEXT6:PLAINTEXT,CONTROLLER:PLAINTEXT",
	}, nil, ProfileSingleNode)
	adv := b.AdvertisedListeners()
	if len(adv) != 2 || adv[1].Host != "2001:db8::1" || adv[1].String() != "PLAINTEXT6://[2001:db8::1]:9092" {
		t.Errorf("advertised %v", adv)
	}
	// broker.id alone sets node.id, and the derived voter follows.
	b = mustLoad(t, map[string]string{"broker.id": "7"}, nil, ProfileSingleNode)
	if b.NodeID != 7 || b.Voters[0].ID != 7 {
		t.Errorf("node %d voters %v", b.NodeID, b.Voters)
	}
	// The derived voter follows the controller listener.
	b = mustLoad(t, map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:19093", "node.id": "3"}, nil, ProfileSingleNode)
	if got := b.Voters; len(got) != 1 || got[0].String() != "3@127.0.0.1:19093" {
		t.Errorf("voters %v", got)
	}
	b = mustLoad(t, map[string]string{"listeners": "PLAINTEXT://[::1]:9092,CONTROLLER://[::]:9093"}, nil, ProfileSingleNode)
	if got := b.Voters; got[0].String() != "1@[::1]:9093" {
		t.Errorf("voters %v", got)
	}
	if _, err := Load(map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:0"}, nil, ProfileSingleNode); err == nil ||
		!strings.Contains(err.Error(), "controller.quorum.voters") {
		t.Errorf("port 0 controller: %v", err)
	}
	// A controller-only node and a broker-only node of a cluster.
	mustLoad(t, map[string]string{"process.roles": "controller", "node.id": "1", "listeners": "CONTROLLER://:9093",
		"controller.listener.names": "CONTROLLER", "controller.quorum.voters": "1@c1:9093"}, nil, ProfileKafka)
	es := loadErrors(t, map[string]string{"process.roles": "broker", "node.id": "1", "listeners": "PLAINTEXT://:9092",
		"controller.listener.names": "CONTROLLER", "controller.quorum.voters": "1@c1:9093", "advertised.listeners": "PLAINTEXT://b:9092"}, nil, ProfileKafka)
	if len(es) != 1 || es[0].Key != "controller.quorum.voters" {
		t.Errorf("broker that is a voter: %v", es)
	}
	es = loadErrors(t, map[string]string{"process.roles": "broker", "node.id": "4", "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
		"controller.listener.names": "CONTROLLER", "controller.quorum.voters": "1@c1:9093", "advertised.listeners": "PLAINTEXT://b:9092"}, nil, ProfileKafka)
	if len(es) != 1 || es[0].Key != "listeners" {
		t.Errorf("broker on a controller listener: %v", es)
	}
}

func TestParseListeners(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Listener
	}{
		{"PLAINTEXT://:9092", []Listener{{Name: "PLAINTEXT", Port: 9092}}},
		{"PLAINTEXT://[::1]:9092", []Listener{{Name: "PLAINTEXT", Host: "::1", Port: 9092}}},
		{"CONTROLLER://127.0.0.1:9093", []Listener{{Name: "CONTROLLER", Host: "127.0.0.1", Port: 9093}}},
		{"plaintext://host.example.com:0", []Listener{{Name: "PLAINTEXT", Host: "host.example.com", Port: 0}}},
		{"PLAINTEXT://::1:9092", []Listener{{Name: "PLAINTEXT", Host: "::1", Port: 9092}}}, // unbracketed, as Kafka allows
		{" A://a:1 , B://b:2 ", []Listener{{Name: "A", Host: "a", Port: 1}, {Name: "B", Host: "b", Port: 2}}},
		{"", nil},
	} {
		got, err := ParseListeners(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseListeners(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"PLAINTEXT:9092", "PLAINTEXT://localhost", "PLAINTEXT://localhost:", "PLAINTEXT://localhost:port",
		"PLAINTEXT://localhost:65536", "PLAINTEXT://localhost:-1", "PLAINTEXT://[::1:9092", "PLAINTEXT://[::1]9092",
		"://localhost:9092", "PLAIN TEXT://:9092", "PLAINTEXT://bad host:9092", "A://:1,a://:2", "PLAINTEXT://:9092,",
	} {
		if got, err := ParseListeners(in); err == nil || !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseListeners(%q) = %+v, %v; want an invalid-value error", in, got, err)
		}
	}
	l := Listener{Name: "PLAINTEXT", Host: "::1", Port: 9092}
	if l.String() != "PLAINTEXT://[::1]:9092" || l.Addr() != "[::1]:9092" {
		t.Errorf("String %q Addr %q", l.String(), l.Addr())
	}
	if l := (Listener{Name: "P", Port: 9092}); l.Addr() != ":9092" {
		t.Errorf("Addr %q", l.Addr())
	}
}

func TestParseVoters(t *testing.T) {
	got, err := ParseVoters("1@localhost:9093, 2@[::1]:9094,3@10.0.0.3:9095")
	want := []Voter{{1, "localhost", 9093}, {2, "::1", 9094}, {3, "10.0.0.3", 9095}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	if got[1].String() != "2@[::1]:9094" {
		t.Errorf("String %q", got[1].String())
	}
	if got, err := ParseVoters(""); got != nil || err != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, in := range []string{
		"1", "1@", "@h:1", "a@h:1", "-1@h:1", "1@h", "1@h:0", "1@h:70000", "1@0.0.0.0:9093", "1@h:1,1@g:2",
		"1@h@g:1", "1@[::1:9093", "1@bad host:9093", "99999999999@h:1",
	} {
		if _, err := ParseVoters(in); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("ParseVoters(%q): %v, want an invalid-value error", in, err)
		}
	}
}

// TestTopicDefaults checks the topic defaults derived from the log.*
// broker keys, with Kafka's precedence between synonyms.
func TestTopicDefaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  map[string]string
	}{
		{"defaults", nil, map[string]string{
			"retention.ms": "604800000", "segment.ms": "604800000", "segment.jitter.ms": "0", "flush.messages": "1",
			"flush.ms": "9223372036854775807", "segment.bytes": "1073741824", "segment.index.bytes": "10485760",
			"retention.bytes": "-1", "max.message.bytes": "1048588", "cleanup.policy": "delete",
			"compression.type": "producer", "min.insync.replicas": "1", "unclean.leader.election.enable": "false",
			"file.delete.delay.ms": "60000", "delete.retention.ms": "86400000", "min.compaction.lag.ms": "0",
			"max.compaction.lag.ms": "9223372036854775807", "min.cleanable.dirty.ratio": "0.5",
			"message.timestamp.type": "CreateTime", "index.interval.bytes": "4096", "preallocate": "false",
			"message.downconversion.enable": "true", "message.format.version": "3.0-IV1",
			"compression.gzip.level": "-1",
		}},
		{"retention hours", map[string]string{"log.retention.hours": "1"}, map[string]string{"retention.ms": "3600000"}},
		{"retention minutes over hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"}, map[string]string{"retention.ms": "120000"}},
		{"retention ms over minutes and hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2", "log.retention.ms": "5"}, map[string]string{"retention.ms": "5"}},
		{"negative retention is unlimited", map[string]string{"log.retention.hours": "-5"}, map[string]string{"retention.ms": "-1"}},
		{"negative retention ms", map[string]string{"log.retention.ms": "-100"}, map[string]string{"retention.ms": "-1"}},
		{"empty ms leaves hours", map[string]string{"log.retention.ms": "", "log.retention.hours": "2"}, map[string]string{"retention.ms": "7200000"}},
		{"roll hours", map[string]string{"log.roll.hours": "2"}, map[string]string{"segment.ms": "7200000"}},
		{"roll ms over hours", map[string]string{"log.roll.hours": "2", "log.roll.ms": "1000"}, map[string]string{"segment.ms": "1000"}},
		{"jitter hours and ms", map[string]string{"log.roll.jitter.hours": "1"}, map[string]string{"segment.jitter.ms": "3600000"}},
		{"jitter ms over hours", map[string]string{"log.roll.jitter.hours": "1", "log.roll.jitter.ms": "7"}, map[string]string{"segment.jitter.ms": "7"}},
		{"flush scheduler", map[string]string{"log.flush.scheduler.interval.ms": "3000"}, map[string]string{"flush.ms": "3000"}},
		{"flush interval over scheduler", map[string]string{"log.flush.scheduler.interval.ms": "3000", "log.flush.interval.ms": "100"}, map[string]string{"flush.ms": "100"}},
		{"one-to-one synonyms", map[string]string{
			"log.segment.bytes": "1048576", "log.index.size.max.bytes": "4096", "log.flush.interval.messages": "100",
			"log.retention.bytes": "1000000", "message.max.bytes": "2000000", "log.index.interval.bytes": "1024",
			"log.cleaner.delete.retention.ms": "1000", "log.cleaner.min.compaction.lag.ms": "10",
			"log.cleaner.max.compaction.lag.ms": "20", "log.segment.delete.delay.ms": "5",
			"log.cleaner.min.cleanable.ratio": "0.25", "log.cleanup.policy": "compact,delete", "min.insync.replicas": "2",
			"log.message.timestamp.before.max.ms": "1000", "log.message.timestamp.after.max.ms": "2000",
			"log.message.timestamp.difference.max.ms": "3000", "log.preallocate": "true",
		}, map[string]string{
			"segment.bytes": "1048576", "segment.index.bytes": "4096", "flush.messages": "100",
			"retention.bytes": "1000000", "max.message.bytes": "2000000", "index.interval.bytes": "1024",
			"delete.retention.ms": "1000", "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "20",
			"file.delete.delay.ms": "5", "min.cleanable.dirty.ratio": "0.25", "cleanup.policy": "compact,delete",
			"min.insync.replicas": "2", "message.timestamp.before.max.ms": "1000", "message.timestamp.after.max.ms": "2000",
			"message.timestamp.difference.max.ms": "3000", "preallocate": "true",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustLoad(t, tc.props, nil, ProfileSingleNode)
			got := b.TopicDefaults()
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if e := byName[k]; !e.Scope.Topic() || e.Kind == Rejected {
					t.Errorf("TopicDefaults has %s (%s, %s)", k, e.Scope, e.Kind)
				}
			}
			// The typed defaults agree.
			if d := b.Log; tc.name == "roll ms over hours" && d.SegmentAge != time.Second {
				t.Errorf("SegmentAge %v", d.SegmentAge)
			}
		})
	}
	b := mustLoad(t, map[string]string{"log.retention.hours": "-1", "log.cleanup.policy": "compact"}, nil, ProfileSingleNode)
	if b.Log.RetentionAge >= 0 || !b.Log.Compact || b.Log.Delete {
		t.Errorf("log defaults %+v", b.Log)
	}
}

func TestDescribeTopicDefaults(t *testing.T) {
	b := mustLoad(t, map[string]string{"log.retention.hours": "1"}, nil, ProfileSingleNode)
	rows := map[string]Row{}
	for _, r := range b.DescribeTopicDefaults() {
		rows[r.Name] = r
	}
	if r := rows["retention.ms"]; r.Value != "3600000" || r.Source != SourceStaticBrokerConfig {
		t.Errorf("retention.ms %+v", r)
	}
	if r := rows["segment.ms"]; r.Value != "604800000" || r.Source != SourceDefaultConfig || r.Origin != OriginKafkaDefault {
		t.Errorf("segment.ms %+v", r)
	}
	if r := rows["flush.messages"]; r.Value != "1" || r.Origin != OriginSluiceDefault {
		t.Errorf("flush.messages %+v", r)
	}
	if _, ok := rows["remote.storage.enable"]; ok {
		t.Error("rejected topic key described")
	}
}

func TestDescribe(t *testing.T) {
	b := mustLoad(t, map[string]string{"broker.rack": "r1"}, nil, ProfileSingleNode)
	rows := b.Describe()
	for i := 1; i < len(rows); i++ {
		if rows[i-1].Name >= rows[i].Name {
			t.Fatalf("not sorted at %s", rows[i].Name)
		}
	}
	if byRowName(rows, "log.retention.ms").ReadOnly || !byRowName(rows, "log.dirs").ReadOnly {
		t.Error("log.retention.ms must be dynamic and log.dirs read-only")
	}
	byRow := map[string]Row{}
	for _, r := range rows {
		byRow[r.Name] = r
		if byName[r.Name].Kind == Rejected {
			t.Errorf("rejected key %s described", r.Name)
		}
		if r.ReadOnly != (Dynamic(r.Name) == NotDynamic) {
			t.Errorf("%s: read-only %v, dynamic mode %d", r.Name, r.ReadOnly, Dynamic(r.Name))
		}
	}
	for name, want := range map[string]Row{
		"broker.rack":              {Value: "r1", Source: SourceStaticBrokerConfig, Origin: OriginFile},
		"advertised.listeners":     {Null: true, Source: SourceDefaultConfig, Origin: OriginKafkaDefault},
		"node.id":                  {Value: "1", Source: SourceDefaultConfig, Origin: OriginProfile},
		"controller.quorum.voters": {Value: "1@127.0.0.1:9093", Source: SourceDefaultConfig, Origin: OriginProfile},
		"log.dir":                  {Value: "./sluice-data", Source: SourceDefaultConfig, Origin: OriginSluiceDefault},
		"num.io.threads":           {Value: "8", Source: SourceDefaultConfig, Origin: OriginKafkaDefault},
	} {
		r := byRow[name]
		if r.Value != want.Value || r.Null != want.Null || r.Source != want.Source || r.Origin != want.Origin {
			t.Errorf("%s: %+v, want %+v", name, r, want)
		}
	}
	if SourceStaticBrokerConfig.String() != "STATIC_BROKER_CONFIG" || SourceDefaultConfig.String() != "DEFAULT_CONFIG" {
		t.Error("source names")
	}
}

func TestValidateTopicConfig(t *testing.T) {
	for _, kv := range [][2]string{
		{"retention.ms", "-1"}, {"cleanup.policy", "compact"}, {"compression.type", "producer"},
		{"min.insync.replicas", "2"}, {"preallocate", "true"}, {"message.format.version", "0.10.0"},
		{"remote.storage.enable", "false"}, {"leader.replication.throttled.replicas", ""},
		{"leader.replication.throttled.replicas", "0:1, 2:3"}, {"follower.replication.throttled.replicas", "*"},
		{"message.downconversion.enable", "false"},
	} {
		if err := ValidateTopicConfig(kv[0], kv[1]); err != nil {
			t.Errorf("%s=%s: %v", kv[0], kv[1], err)
		}
	}
	for _, tc := range []struct {
		key, value string
		kind       error
		msg        string
	}{
		{"remote.storage.enable", "true", ErrNotSupported, "tiered"},
		{"local.retention.ms", "1000", ErrNotSupported, "tiered"},
		{"leader.replication.throttled.replicas", "0:1,x", ErrInvalidValue, "partition:broker"},
		{"quota.window.num", "1", ErrUnknownKey, ""},
		{"compression.type", "zstd", ErrNotSupported, "only producer"},
		{"retention.ms", "-2", ErrInvalidValue, "at least -1"},
		{"segment.bytes", "big", ErrInvalidValue, "32-bit"},
		{"preallocate", "maybe", ErrInvalidValue, "true or false"},
		{"retention.mss", "1", ErrUnknownKey, "did you mean retention.ms?"},
		{"log.retention.ms", "1", ErrUnknownKey, "the topic key is retention.ms"},
		{"num.partitions", "1", ErrUnknownKey, "is a broker key"},
	} {
		err := ValidateTopicConfig(tc.key, tc.value)
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tc.key || ce.Origin != OriginRequest || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s=%s: %v, want %v with %q", tc.key, tc.value, err, tc.kind, tc.msg)
		}
	}
	b := mustLoad(t, nil, nil, ProfileSingleNode)
	if err := b.ValidateTopicConfigs(map[string]string{"min.compaction.lag.ms": "100", "max.compaction.lag.ms": "10"}); err == nil ||
		!strings.Contains(err.Error(), "min.compaction.lag.ms") {
		t.Errorf("compaction lags: %v", err)
	}
	if err := b.ValidateTopicConfigs(map[string]string{"min.compaction.lag.ms": "100", "cleanup.policy": "compact"}); err != nil {
		t.Errorf("valid configs: %v", err)
	}
	if err := b.ValidateTopicConfigs(map[string]string{"retention.ms": "x", "bogus": "1"}); err == nil || len(err.(Errors)) != 2 {
		t.Errorf("two bad configs: %v", err)
	}
}

func TestGetAndProfile(t *testing.T) {
	b := mustLoad(t, nil, nil, ProfileSingleNode)
	if v, ok := b.Get("num.io.threads"); !ok || v != "8" {
		t.Errorf("Get(num.io.threads) = %q, %v", v, ok)
	}
	if _, ok := b.Get("advertised.listeners"); ok {
		t.Error("Get of a null key is ok")
	}
	if _, ok := b.Get("retention.ms"); ok {
		t.Error("Get of a topic key is ok")
	}
	if b.Profile() != ProfileSingleNode || ProfileSingleNode.String() != "single-node" || len(ProfileKafka.Overrides()) != 0 {
		t.Error("profile")
	}
}

func byRowName(rows []Row, name string) Row {
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	return Row{}
}

// TestCleanerDedupeBufferPerThread: Kafka's cleaner needs more than 1 MiB
// of dedupe buffer per thread.
func TestCleanerDedupeBufferPerThread(t *testing.T) {
	errs := loadErrors(t, map[string]string{"log.cleaner.dedupe.buffer.size": "3000000", "log.cleaner.threads": "3"}, nil, ProfileSingleNode)
	if len(errs) != 1 || errs[0].Key != "log.cleaner.dedupe.buffer.size" {
		t.Fatalf("errors %v", errs)
	}
	// Kafka wants more than 1 MiB each: exactly 1 MiB is refused.
	if errs := loadErrors(t, map[string]string{"log.cleaner.dedupe.buffer.size": "3145728", "log.cleaner.threads": "3"}, nil, ProfileSingleNode); len(errs) != 1 {
		t.Fatalf("exactly 1 MiB a thread: errors %v", errs)
	}
	mustLoad(t, map[string]string{"log.cleaner.dedupe.buffer.size": "3145731", "log.cleaner.threads": "3"}, nil, ProfileSingleNode)
	b := mustLoad(t, map[string]string{"log.cleaner.dedupe.buffer.size": "3000000", "log.cleaner.threads": "3", "log.cleaner.enable": "false"}, nil, ProfileSingleNode)
	if b.CleanerEnable || b.CleanerThreads != 3 || b.CleanerDedupeBufferSize != 3000000 {
		t.Fatalf("%+v", b)
	}
	b = mustLoad(t, map[string]string{"log.cleaner.threads": "2", "log.cleaner.io.max.bytes.per.second": "1e6", "log.cleaner.io.buffer.load.factor": "0.5"}, nil, ProfileSingleNode)
	if b.CleanerThreads != 2 || b.CleanerMaxIOBytesPerSecond != 1e6 || b.CleanerLoadFactor != 0.5 || b.CleanerDedupeBufferSize != 128<<20 || b.CleanerIOBufferSize != 512<<10 {
		t.Fatalf("cleaner settings %+v", b)
	}
}
