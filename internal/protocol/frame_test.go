package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRequestFramesMatchKmsg builds whole request frames (size, header,
// body) for every API and version with both codecs and compares them, and
// parses kmsg's frames back with DecodeRequest.
func TestRequestFramesMatchKmsg(t *testing.T) {
	const client = "sluice-test"
	formatter := kmsg.NewRequestFormatter(kmsg.FormatterClientID(client))
	fl := &filler{rng: rand.New(rand.NewPCG(11, 12))}
	for _, a := range APIs() {
		hi := min(a.MaxStable, kmsg.RequestForKey(int16(a.Key)).MaxVersion())
		for v := a.MinVersion; v <= hi; v++ {
			if d, ok := kmsgDivergences[a.Key]; ok && v >= d.from {
				continue
			}
			if a.Key == KeyControlledShutdown && v == 0 {
				// kmsg's formatter returns after the v0 header without
				// writing the body or the size; TestHeaderVersions and
				// TestControlledShutdownV0 cover this case.
				continue
			}
			theirs := kmsg.RequestForKey(int16(a.Key))
			fl.fill(reflect.ValueOf(theirs).Elem())
			theirs.SetVersion(v)
			want := formatter.AppendRequest(nil, theirs, 77)

			h, ours, err := DecodeRequest(want[4:])
			if err != nil {
				t.Fatalf("%s v%d: %v", a.Name, v, err)
			}
			if h.CorrelationID != 77 || APIKey(h.RequestApiKey) != a.Key || h.RequestApiVersion != v {
				t.Fatalf("%s v%d: header %+v", a.Name, v, h)
			}
			id := client
			clientID := &id
			if RequestHeaderVersion(a.Key, v) == 0 {
				clientID = nil
			} else if h.ClientID == nil || *h.ClientID != client {
				t.Fatalf("%s v%d: client id %v", a.Name, v, h.ClientID)
			}
			if got := AppendRequest(nil, ours, v, 77, clientID); !bytes.Equal(got, want) {
				t.Fatalf("%s v%d: frames differ\nkmsg %x\nours %x", a.Name, v, want, got)
			}
		}
	}
}

func TestHeaderVersions(t *testing.T) {
	cases := []struct {
		key          APIKey
		version      int16
		req, resp    int16
		flexibleBody bool
	}{
		{KeyProduce, 8, 1, 0, false},
		{KeyProduce, 9, 2, 1, true},
		{KeyMetadata, 0, 1, 0, false},
		{KeyMetadata, 9, 2, 1, true},
		{KeyControlledShutdown, 0, 0, 0, false},
		{KeyControlledShutdown, 1, 1, 0, false},
		{KeyApiVersions, 2, 1, 0, false},
		{KeyApiVersions, 3, 2, 0, true}, // ApiVersions responses always use header v0
	}
	for _, c := range cases {
		if got := RequestHeaderVersion(c.key, c.version); got != c.req {
			t.Errorf("%s v%d: request header v%d, want v%d", c.key, c.version, got, c.req)
		}
		if got := ResponseHeaderVersion(c.key, c.version); got != c.resp {
			t.Errorf("%s v%d: response header v%d, want v%d", c.key, c.version, got, c.resp)
		}
		info, _ := LookupAPI(c.key)
		if info.Flexible(c.version) != c.flexibleBody {
			t.Errorf("%s v%d: flexible = %t", c.key, c.version, !c.flexibleBody)
		}
	}
}

func TestResponseFrame(t *testing.T) {
	resp := &ApiVersionsResponse{ErrorCode: int16(ErrUnsupportedVersion), ApiKeys: []ApiVersionsResponseApiVersion{{ApiKey: 18, MinVersion: 0, MaxVersion: 3}}}
	frame := AppendResponse(nil, resp, 3, 42)
	if got := binary.BigEndian.Uint32(frame); int(got) != len(frame)-4 {
		t.Fatalf("size prefix %d for %d bytes", got, len(frame)-4)
	}
	corr, body, err := ParseResponseHeader(frame[4:], 0)
	if err != nil || corr != 42 {
		t.Fatalf("header: corr=%d err=%v", corr, err)
	}
	var back ApiVersionsResponse
	if err := back.Decode(body, 3); err != nil {
		t.Fatal(err)
	}
	if back.ErrorCode != int16(ErrUnsupportedVersion) || len(back.ApiKeys) != 1 || back.ApiKeys[0].MaxVersion != 3 {
		t.Fatalf("decoded %+v", back)
	}
	// A flexible response header carries an empty tag buffer.
	md := AppendResponse(nil, &MetadataResponse{}, 12, 7)
	if _, body, err := ParseResponseHeader(md[4:], 1); err != nil || len(md)-4-len(body) != 5 {
		t.Fatalf("metadata v12 header: err=%v header bytes=%d", err, len(md)-4-len(body))
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	cases := map[string]struct {
		frame []byte
		want  error
	}{
		"empty":         {nil, ErrMalformed},
		"short":         {[]byte{0, 1, 0}, ErrMalformed},
		"unknown key":   {[]byte{0x7f, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, ErrUnknownAPI},
		"bad version":   {[]byte{0, 3, 0x7f, 0, 0, 0, 0, 1, 0xff, 0xff, 0}, ErrBadVersion},
		"no client id":  {[]byte{0, 3, 0, 1, 0, 0, 0, 1}, ErrMalformed},
		"trailing body": {append(AppendRequest(nil, &MetadataRequest{}, 1, 1, nil)[4:], 0), ErrMalformed},
	}
	for name, c := range cases {
		if _, _, err := DecodeRequest(c.frame); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

// TestControlledShutdownV0 checks the one request whose header is v0: no
// client id follows the correlation id.
func TestControlledShutdownV0(t *testing.T) {
	frame := AppendRequest(nil, &ControlledShutdownRequest{BrokerID: 3}, 0, 9, nil)
	want := []byte{0, 0, 0, 12, 0, 7, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3}
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame %x, want %x", frame, want)
	}
	h, m, err := DecodeRequest(frame[4:])
	if err != nil || h.CorrelationID != 9 || m.(*ControlledShutdownRequest).BrokerID != 3 {
		t.Fatalf("decode: %+v %+v %v", h, m, err)
	}
}
