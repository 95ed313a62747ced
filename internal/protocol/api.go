package protocol

import "strconv"

//go:generate go run ./gen -specs ../../../shared/kafka/messages,../../../shared/kafka/metadata-records,../../../shared/kafka/coordinator-records,../../../shared/kafka/storage-records -out .

// APIKey identifies a Kafka API (Produce is 0, Fetch is 1, ...).
type APIKey int16

// String returns the API's name, e.g. "Produce".
func (k APIKey) String() string {
	if info, ok := LookupAPI(k); ok {
		return info.Name
	}
	return "APIKey(" + strconv.Itoa(int(k)) + ")"
}

// APIInfo describes one API as its specification defines it.
type APIInfo struct {
	Key  APIKey
	Name string
	// MinVersion and MaxVersion bound the versions the codec implements.
	MinVersion, MaxVersion int16
	// MaxStable is the highest version that is not marked unstable; it is
	// below MinVersion when no version is stable.
	MaxStable int16
	// FlexibleMin is the first flexible version, or -1.
	FlexibleMin int16
	// Listeners names the roles that serve the API in Kafka
	// ("broker", "controller", "zkBroker").
	Listeners []string
}

// LookupAPI returns the description of key.
func LookupAPI(key APIKey) (APIInfo, bool) {
	if key < 0 || int(key) >= len(apiTable) || apiTable[key].Name == "" {
		return APIInfo{}, false
	}
	return apiTable[key], true
}

// APIs returns every API the codec knows, by ascending key.
func APIs() []APIInfo {
	out := make([]APIInfo, 0, len(apiTable))
	for _, a := range apiTable {
		if a.Name != "" {
			out = append(out, a)
		}
	}
	return out
}

// Flexible reports whether version uses the flexible encoding.
func (a APIInfo) Flexible(version int16) bool {
	return a.FlexibleMin >= 0 && version >= a.FlexibleMin
}

// Message is any generated request or response.
type Message interface {
	// APIKey returns the API key.
	APIKey() APIKey
	// IsResponse reports whether this is a response.
	IsResponse() bool
	// Versions returns the lowest and highest versions defined.
	Versions() (lowest, highest int16)
	// AppendTo appends the body encoded at version.
	AppendTo(dst []byte, version int16) []byte
	// Decode replaces the message with the body src decoded at version.
	Decode(src []byte, version int16) error
}

// RequestHeaderVersion returns the request header version a client uses
// for key at version: 2 for flexible versions, 1 otherwise, and 0 for
// ControlledShutdown v0, whose header has no client id.
func RequestHeaderVersion(key APIKey, version int16) int16 {
	info, ok := LookupAPI(key)
	switch {
	case key == KeyControlledShutdown && version == 0:
		return 0
	case ok && info.Flexible(version):
		return 2
	default:
		return 1
	}
}

// ResponseHeaderVersion returns the response header version for key at
// version: 1 for flexible versions, otherwise 0. ApiVersions responses
// always use 0, so a client that does not yet know our versions can read
// them.
func ResponseHeaderVersion(key APIKey, version int16) int16 {
	info, ok := LookupAPI(key)
	if key != KeyApiVersions && ok && info.Flexible(version) {
		return 1
	}
	return 0
}

// MetadataRecord is a generated metadata record: an entry of the
// replicated metadata log, framed by the metadata package.
type MetadataRecord interface {
	// RecordType is the record's type id (the spec's apiKey).
	RecordType() int16
	// Versions returns the lowest and highest versions defined.
	Versions() (lowest, highest int16)
	// AppendTo appends the record encoded at version.
	AppendTo(dst []byte, version int16) []byte
	// Decode replaces the record with src decoded at version.
	Decode(src []byte, version int16) error
	// Default sets every field to its default.
	Default()
}
