package protocol

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgDivergences lists the (API, first version) pairs where kmsg's encoding
// departs from Kafka's specs, with the reason; versions from there on are
// not compared. Each has a test of its own pinning our layout.
var kmsgDivergences = map[APIKey]struct {
	from   int16
	reason string
}{
	// KIP-866's isKRaftController: Kafka's spec puts it right after
	// ControllerId; kmsg writes it after ControllerEpoch.
	KeyLeaderAndIsr:   {7, "kmsg places isKRaftController after ControllerEpoch"},
	KeyStopReplica:    {4, "kmsg places isKRaftController after ControllerEpoch"},
	KeyUpdateMetadata: {8, "kmsg places isKRaftController after ControllerEpoch"},
}

// kmsgMessage is what kmsg's requests and responses have in common.
type kmsgMessage interface {
	SetVersion(int16)
	MaxVersion() int16
	AppendTo([]byte) []byte
	ReadFrom([]byte) error
}

// TestDifferentialKmsg checks our codec against franz-go's kmsg for every
// API key and version both define: random messages encoded by kmsg decode
// with ours and re-encode to identical bytes, and random messages encoded
// by ours decode with kmsg and re-encode to identical bytes.
func TestDifferentialKmsg(t *testing.T) {
	const iterations = 100
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x51))
	fl := &filler{rng: rng}

	covered, pairs := 0, 0
	for _, info := range APIs() {
		kreq := kmsg.RequestForKey(int16(info.Key))
		if kreq == nil {
			t.Logf("%s (key %d): kmsg does not know it", info.Name, info.Key)
			continue
		}
		covered++
		hi := min(info.MaxStable, kreq.MaxVersion())
		for v := info.MinVersion; v <= hi; v++ {
			for _, resp := range []bool{false, true} {
				if d, ok := kmsgDivergences[info.Key]; ok && !resp && v >= d.from {
					continue
				}
				newOurs := func() Message { return NewRequest(info.Key) }
				newTheirs := func() kmsgMessage { return kmsg.RequestForKey(int16(info.Key)) }
				if resp {
					newOurs = func() Message { return NewResponse(info.Key) }
					newTheirs = func() kmsgMessage { return kmsg.ResponseForKey(int16(info.Key)) }
				}
				pairs++
				name := fmt.Sprintf("%s/v%d/response=%t", info.Name, v, resp)
				for i := range iterations {
					theirs := newTheirs()
					fl.fill(reflect.ValueOf(theirs).Elem())
					theirs.SetVersion(v)
					want := theirs.AppendTo(nil)
					ours := newOurs()
					if err := ours.Decode(want, v); err != nil {
						t.Fatalf("%s #%d: ours cannot decode kmsg's bytes: %v\n%x", name, i, err, want)
					}
					if got := ours.AppendTo(nil, v); !bytes.Equal(got, want) {
						t.Fatalf("%s #%d: kmsg→ours→bytes differ\nkmsg: %x\nours: %x", name, i, want, got)
					}

					ours = newOurs()
					fl.fill(reflect.ValueOf(ours).Elem())
					enc := ours.AppendTo(nil, v)
					theirs = newTheirs()
					theirs.SetVersion(v)
					if err := theirs.ReadFrom(enc); err != nil {
						t.Fatalf("%s #%d: kmsg cannot decode our bytes: %v\n%x", name, i, err, enc)
					}
					if got := theirs.AppendTo(nil); !bytes.Equal(got, enc) {
						t.Fatalf("%s #%d: ours→kmsg→bytes differ\nours: %x\nkmsg: %x", name, i, enc, got)
					}
					again := newOurs()
					if err := again.Decode(enc, v); err != nil {
						t.Fatalf("%s #%d: ours cannot decode our own bytes: %v", name, i, err)
					}
					if got := again.AppendTo(nil, v); !bytes.Equal(got, enc) {
						t.Fatalf("%s #%d: ours→ours→bytes differ", name, i)
					}
				}
			}
		}
	}
	if covered < 60 {
		t.Fatalf("only %d API keys compared with kmsg", covered)
	}
	t.Logf("%d API keys, %d (key, version, direction) pairs compared with kmsg", covered, pairs)
}

// TestKRaftControllerFieldOrder pins the layout where kmsg diverges: in
// StopReplica v4+ isKRaftController follows ControllerId, as Kafka's spec
// orders the fields.
func TestKRaftControllerFieldOrder(t *testing.T) {
	m := &StopReplicaRequest{ControllerID: 7, IsKRaftController: true, ControllerEpoch: 9, BrokerEpoch: 11}
	got := m.AppendTo(nil, 4)
	want := []byte{0, 0, 0, 7, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 11, 1, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("StopReplica v4 = %x, want %x", got, want)
	}
	for key, d := range kmsgDivergences {
		info, _ := LookupAPI(key)
		if d.from < info.MinVersion || d.from > info.MaxVersion {
			t.Errorf("%s: divergence version %d outside the spec's versions", info.Name, d.from)
		}
	}
}
