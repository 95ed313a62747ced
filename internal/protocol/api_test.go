package protocol

import "testing"

func TestAPITable(t *testing.T) {
	cases := []struct {
		key            APIKey
		name           string
		min, max, stab int16
		flexMin        int16
	}{
		{KeyProduce, "Produce", 0, 11, 11, 9},
		{KeyFetch, "Fetch", 0, 17, 17, 12},
		{KeyMetadata, "Metadata", 0, 12, 12, 9},
		{KeyApiVersions, "ApiVersions", 0, 4, 4, 3},
		{KeyEndTxn, "EndTxn", 0, 5, 4, 3},             // v5 is marked unstable
		{KeyShareFetch, "ShareFetch", 0, 0, -1, 0},    // no stable version at all
		{KeyJoinGroup, "JoinGroup", 0, 9, 9, 6},       // group APIs keep v0
		{KeyOffsetCommit, "OffsetCommit", 0, 9, 9, 8}, // ...and OffsetCommit v0
	}
	for _, c := range cases {
		info, ok := LookupAPI(c.key)
		if !ok {
			t.Fatalf("%s missing", c.name)
		}
		if info.Name != c.name || info.MinVersion != c.min || info.MaxVersion != c.max || info.MaxStable != c.stab || info.FlexibleMin != c.flexMin {
			t.Errorf("%s: %+v", c.name, info)
		}
		if c.key.String() != c.name {
			t.Errorf("String() = %q", c.key.String())
		}
		if NewRequest(c.key) == nil || NewResponse(c.key) == nil || NewRequest(c.key).IsResponse() || !NewResponse(c.key).IsResponse() {
			t.Errorf("%s: constructors", c.name)
		}
	}
	if _, ok := LookupAPI(-1); ok {
		t.Error("LookupAPI(-1) found something")
	}
	if _, ok := LookupAPI(10000); ok {
		t.Error("LookupAPI(10000) found something")
	}
	if NewRequest(10000) != nil {
		t.Error("NewRequest(10000) != nil")
	}
	prev := APIKey(-1)
	for _, a := range APIs() {
		if a.Key <= prev {
			t.Fatalf("APIs not ascending at %s", a.Name)
		}
		prev = a.Key
		if lo, hi := NewRequest(a.Key).Versions(); lo != a.MinVersion || hi != a.MaxVersion {
			t.Errorf("%s: Versions() = %d-%d, table %d-%d", a.Name, lo, hi, a.MinVersion, a.MaxVersion)
		}
	}
}

// TestDefaults checks that constructors apply the specs' defaults.
func TestDefaults(t *testing.T) {
	p := NewRequest(KeyFetch).(*FetchRequest)
	if p.ReplicaID != -1 || p.MaxBytes != 0x7fffffff || p.SessionEpoch != -1 {
		t.Fatalf("FetchRequest defaults: replica=%d maxBytes=%d epoch=%d", p.ReplicaID, p.MaxBytes, p.SessionEpoch)
	}
	var part FetchResponsePartitionData
	part.Default()
	if part.LastStableOffset != -1 || part.PreferredReadReplica != -1 || part.DivergingEpoch.Epoch != -1 || !part.isDefault() {
		t.Fatalf("FetchResponse partition defaults: %+v", part)
	}
	part.DivergingEpoch.EndOffset = 5
	if part.isDefault() {
		t.Fatal("isDefault ignores a changed tagged struct")
	}
}
