package metadata

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"

	"github.com/sluice-mq/sluice/internal/protocol"
)

// recordTypes returns every metadata record type the codec defines.
func recordTypes() []int16 {
	var types []int16
	for typ := range int16(1000) {
		if protocol.NewMetadataRecord(typ) != nil {
			types = append(types, typ)
		}
	}
	return types
}

// frameHeader is the frame header EncodeRecord must write, built by hand.
func frameHeader(typ int16, version int16) []byte {
	b := protocol.AppendUvarint(nil, 1)
	b = protocol.AppendUvarint(b, uint32(typ))
	return protocol.AppendUvarint(b, uint32(version))
}

// TestRecordTypesMatchSpecs checks that the codec knows every record type of
// Kafka's metadata record specs at exactly the versions they define.
func TestRecordTypesMatchSpecs(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/kafka/metadata-records/*.json")
	if len(files) == 0 {
		t.Skip("metadata record specs not found beside the repository")
	}
	keyRE := regexp.MustCompile(`"apiKey":\s*(\d+)`)
	verRE := regexp.MustCompile(`"validVersions":\s*"(\d+)(?:-(\d+))?"`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		km, vm := keyRE.FindSubmatch(src), verRE.FindSubmatch(src)
		if km == nil || vm == nil {
			t.Fatalf("%s: no apiKey or validVersions", f)
		}
		key, _ := strconv.Atoi(string(km[1]))
		lo, _ := strconv.Atoi(string(vm[1]))
		hi := lo
		if len(vm[2]) > 0 {
			hi, _ = strconv.Atoi(string(vm[2]))
		}
		m := protocol.NewMetadataRecord(int16(key))
		if m == nil {
			t.Errorf("%s: type %d unknown to the codec", filepath.Base(f), key)
			continue
		}
		if glo, ghi := m.Versions(); int(glo) != lo || int(ghi) != hi {
			t.Errorf("%s: codec versions %d-%d, spec %d-%d", filepath.Base(f), glo, ghi, lo, hi)
		}
		if LatestVersion(m) != int16(hi) {
			t.Errorf("%s: LatestVersion %d, want %d", filepath.Base(f), LatestVersion(m), hi)
		}
	}
	if n := len(recordTypes()); n != len(files) {
		t.Errorf("codec has %d record types, specs %d", n, len(files))
	}
}

// TestRecordRoundTrip frames every record type at every version, defaulted
// and filled with random values: the frame is the header followed by the
// record's own encoding, decodes to the same type and version, and encodes
// back to the same bytes.
func TestRecordRoundTrip(t *testing.T) {
	fl := &filler{rng: rand.New(rand.NewPCG(11, 12))}
	for _, typ := range recordTypes() {
		lo, hi := protocol.NewMetadataRecord(typ).Versions()
		for v := lo; v <= hi; v++ {
			for i := range 25 {
				m := protocol.NewMetadataRecord(typ)
				if i > 0 {
					fl.fill(reflect.ValueOf(m).Elem())
				}
				b := EncodeRecord(nil, m, v)
				want := m.AppendTo(frameHeader(typ, v), v)
				if !bytes.Equal(b, want) {
					t.Fatalf("%s v%d: frame\n%x, want\n%x", recordName(m), v, b, want)
				}
				rec, err := DecodeRecord(b)
				if err != nil {
					t.Fatalf("%s v%d: %v", recordName(m), v, err)
				}
				if rec.Version != v || reflect.TypeOf(rec.Message) != reflect.TypeOf(m) {
					t.Fatalf("%s v%d: decoded %s v%d", recordName(m), v, recordName(rec.Message), rec.Version)
				}
				if b2 := EncodeRecord(nil, rec.Message, rec.Version); !bytes.Equal(b2, b) {
					t.Fatalf("%s v%d: re-encoded\n%x, want\n%x", recordName(m), v, b2, b)
				}
				// Appending keeps what dst held.
				if b3 := EncodeRecord([]byte("xy"), m, v); !bytes.Equal(b3, append([]byte("xy"), b...)) {
					t.Fatalf("%s v%d: EncodeRecord does not append", recordName(m), v)
				}
			}
		}
	}
}

func TestNewRecordIsLatest(t *testing.T) {
	r := NewRecord(&protocol.PartitionRecord{})
	if r.Version != 2 {
		t.Errorf("NewRecord(PartitionRecord).Version = %d, want 2", r.Version)
	}
	rec, err := DecodeRecord(EncodeRecord(nil, r.Message, r.Version))
	if err != nil || rec.Version != 2 {
		t.Errorf("decoded %+v, %v", rec, err)
	}
}

func TestEncodeRecordPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil":       func() { EncodeRecord(nil, nil, 0) },
		"version 1": func() { EncodeRecord(nil, &protocol.TopicRecord{}, 1) },
		"negative":  func() { EncodeRecord(nil, &protocol.PartitionRecord{}, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	topic := &protocol.TopicRecord{Name: "foo", TopicID: protocol.UUID{15: 1}}
	valid := EncodeRecord(nil, topic, 0)
	body := topic.AppendTo(nil, 0)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	uv := func(v uint32) []byte { return protocol.AppendUvarint(nil, v) }
	for name, b := range map[string][]byte{
		"empty":               nil,
		"frame only":          {1},
		"no version":          {1, 2},
		"frame version 0":     cat(uv(0), uv(2), uv(0), body),
		"frame version 2":     cat(uv(2), uv(2), uv(0), body),
		"frame version huge":  cat(uv(1<<20), uv(2), uv(0), body),
		"varint overflow":     {1, 0xff, 0xff, 0xff, 0xff, 0x7f, 0},
		"varint unterminated": {1, 0x80, 0x80},
		"type above int16":    cat(uv(1), uv(40000), uv(0), body),
		"type 6 (unassigned)": cat(uv(1), uv(6), uv(0), body),
		"type 13":             cat(uv(1), uv(13), uv(0), body),
		"type 28":             cat(uv(1), uv(28), uv(0), body),
		"version 1":           cat(uv(1), uv(2), uv(1), body),
		"version above int16": cat(uv(1), uv(2), uv(1<<16), body),
		"partition version 3": cat(uv(1), uv(3), uv(3), (&protocol.PartitionRecord{}).AppendTo(nil, 2)),
		"trailing byte":       cat(valid, []byte{0}),
		"truncated body":      valid[:len(valid)-1],
		"header only":         valid[:3],
		"body of other type":  cat(uv(1), uv(9), uv(0), body),
	} {
		rec, err := DecodeRecord(b)
		if !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: DecodeRecord(%x) = %+v, %v; want ErrBadRecord", name, b, rec, err)
		}
	}
	// A body error also wraps the protocol package's.
	if _, err := DecodeRecord(cat(valid, []byte{0})); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("trailing byte: %v does not wrap protocol.ErrMalformed", err)
	}
	// Non-minimal varints in the header are accepted, as Kafka's
	// readUnsignedVarint accepts them; the record re-encodes minimally.
	rec, err := DecodeRecord(cat([]byte{0x81, 0x00, 0x82, 0x80, 0x00, 0x80, 0x00}, body))
	if err != nil || !reflect.DeepEqual(rec.Message, topic) {
		t.Fatalf("non-minimal header: %+v, %v", rec, err)
	}
}

// fuzzBase is the image FuzzDecodeRecord applies decoded records to: a
// topic with two partitions, two brokers, configs, features and producer
// ids, so that decoded records can find things to change.
func fuzzBase(tb testing.TB) *Image {
	img, err := (&Image{}).Apply(1, fuzzBaseRecords())
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

var fuzzTopicID = protocol.UUID{15: 7}

func fuzzBaseRecords() []Record {
	rack := "r1"
	value := "1000"
	return recs(
		&protocol.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 20},
		&protocol.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 10, IncarnationID: protocol.UUID{15: 1}, Rack: &rack,
			EndPoints: []protocol.RegisterBrokerRecordBrokerEndpoint{{Name: "PLAINTEXT", Host: "h1", Port: 9092}}},
		&protocol.RegisterBrokerRecord{BrokerID: 2, BrokerEpoch: 20, IncarnationID: protocol.UUID{15: 2}},
		&protocol.TopicRecord{Name: "foo", TopicID: fuzzTopicID},
		&protocol.PartitionRecord{TopicID: fuzzTopicID, PartitionID: 0, Replicas: []int32{1, 2}, Isr: []int32{1, 2}, Leader: 1},
		&protocol.PartitionRecord{TopicID: fuzzTopicID, PartitionID: 1, Replicas: []int32{2, 1}, Isr: []int32{2}, Leader: 2},
		&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms", Value: &value},
		&protocol.ProducerIdsRecord{NextProducerID: 1000},
	)
}

// recs wraps messages as records at their latest versions.
func recs(ms ...protocol.MetadataRecord) []Record {
	out := make([]Record, len(ms))
	for i, m := range ms {
		out[i] = NewRecord(m)
	}
	return out
}

// fuzzSeeds returns frames of every type and version, random and defaulted,
// records that apply to fuzzBase, and truncated and mangled variants.
func fuzzSeeds() [][]byte {
	fl := &filler{rng: rand.New(rand.NewPCG(3, 4))}
	var seeds [][]byte
	for _, typ := range recordTypes() {
		lo, hi := protocol.NewMetadataRecord(typ).Versions()
		for v := lo; v <= hi; v++ {
			for i := range 3 {
				m := protocol.NewMetadataRecord(typ)
				if i > 0 {
					fl.fill(reflect.ValueOf(m).Elem())
				}
				b := EncodeRecord(nil, m, v)
				seeds = append(seeds, b)
				if i == 1 {
					seeds = append(seeds, b[:len(b)/2], append(bytes.Clone(b), 0))
				}
			}
		}
	}
	leader := int32(2)
	for _, m := range []protocol.MetadataRecord{
		&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: 0, Leader: leader, Isr: []int32{2}, LeaderRecoveryState: -1},
		&protocol.PartitionChangeRecord{TopicID: fuzzTopicID, PartitionID: 1, Leader: -2, Directories: []protocol.UUID{{1: 1}, {1: 2}}, LeaderRecoveryState: 1},
		&protocol.PartitionRecord{TopicID: fuzzTopicID, PartitionID: 2, Replicas: []int32{1}, Isr: []int32{1}, Leader: 1},
		&protocol.RemoveTopicRecord{TopicID: fuzzTopicID},
		&protocol.FenceBrokerRecord{ID: 1, Epoch: 10},
		&protocol.UnfenceBrokerRecord{ID: 2, Epoch: 20},
		&protocol.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 10, Fenced: -1, InControlledShutdown: 1},
		&protocol.UnregisterBrokerRecord{BrokerID: 2, BrokerEpoch: 20},
		&protocol.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms"},
		&protocol.ProducerIdsRecord{NextProducerID: 2000},
		&protocol.FeatureLevelRecord{Name: "x", FeatureLevel: 1},
	} {
		seeds = append(seeds, EncodeRecord(nil, m, LatestVersion(m)))
	}
	return seeds
}

// FuzzDecodeRecord decodes arbitrary bytes as a framed record. Decoding
// never panics and fails only with ErrBadRecord; what decodes re-encodes
// to a frame that decodes to the same type and version and encodes to the
// same bytes again (decode → encode → decode is stable). The decoded
// record is then applied to a small image: that never panics, fails only
// with ErrInvalidRecord, and leaves the image as it was.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	base := fuzzBase(f)
	baseDump := dumpImage(base)
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		enc := EncodeRecord(nil, rec.Message, rec.Version)
		rec2, err := DecodeRecord(enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if rec2.Version != rec.Version || reflect.TypeOf(rec2.Message) != reflect.TypeOf(rec.Message) {
			t.Fatalf("decoded %s v%d, then %s v%d", recordName(rec.Message), rec.Version, recordName(rec2.Message), rec2.Version)
		}
		if enc2 := EncodeRecord(nil, rec2.Message, rec2.Version); !bytes.Equal(enc2, enc) {
			t.Fatalf("unstable encoding:\n%x\n%x", enc, enc2)
		}

		img, err := base.Apply(base.Offset+1, []Record{rec})
		if err != nil && !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("apply: %v does not wrap ErrInvalidRecord", err)
		}
		if err == nil {
			dumpImage(img)
		}
		if got := dumpImage(base); got != baseDump {
			t.Fatalf("apply changed its base image:\n%s\nwas:\n%s", got, baseDump)
		}
	})
}
