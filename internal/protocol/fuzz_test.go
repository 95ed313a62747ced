package protocol

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// decoder is the unexported decoding entry every generated message has.
type decoder interface {
	decode(r *Reader, version int16)
}

// fuzzInput frames a body for fuzzMessage: one byte picks the version.
func fuzzInput(lo int16, version int16, body []byte) []byte {
	return append([]byte{byte(version - lo)}, body...)
}

// messageSeeds returns inputs for a message's fuzz target: random valid
// messages at every version, their truncations, and adversarial bodies —
// counts and lengths far beyond the bytes present, among them the
// tag-count case that makes decoders spin (an ApiVersions v3 body of 7
// bytes claiming millions of tagged fields).
func messageSeeds(newMsg func() Message, seed uint64) [][]byte {
	lo, hi := newMsg().Versions()
	fl := &filler{rng: rand.New(rand.NewPCG(seed, 7))}
	var seeds [][]byte
	for v := lo; v <= hi; v++ {
		for range 2 {
			m := newMsg()
			fl.fill(reflect.ValueOf(m).Elem())
			body := m.AppendTo(nil, v)
			seeds = append(seeds, fuzzInput(lo, v, body))
			if len(body) > 2 {
				seeds = append(seeds, fuzzInput(lo, v, body[:len(body)/2]))
			}
			if n := len(body); n > 0 && body[n-1] == 0 {
				// A flexible body ending in an empty tag buffer: claim a
				// huge tag count instead.
				bomb := append(append([]byte{}, body[:n-1]...), 0xff, 0xff, 0xff, 0x7f)
				seeds = append(seeds, fuzzInput(lo, v, bomb))
			}
		}
		seeds = append(seeds,
			fuzzInput(lo, v, bytes.Repeat([]byte{0xff}, 16)),
			fuzzInput(lo, v, []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}),
			fuzzInput(lo, v, []byte{0x01, 0x01, 0xff, 0xff, 0xff, 0x7f, 0x00}),
		)
	}
	return seeds
}

// checkDecode decodes one fuzz input and checks the codec's invariants:
// decoding work is linear in the input; failures are ErrMalformed; and
// whatever decodes re-encodes to a canonical form that decodes to itself.
func checkDecode(t testing.TB, newMsg func() Message, data []byte) {
	if len(data) == 0 {
		return
	}
	lo, hi := newMsg().Versions()
	v := lo + int16(int(data[0])%int(hi-lo+1))
	body := data[1:]
	m := newMsg()
	var r Reader
	// The wall-clock backstop takes the best of three runs, so a busy
	// machine descheduling the process does not pass for a slow decoder;
	// the iteration count below is the exact bound.
	best := time.Duration(1<<63 - 1)
	for range 3 {
		r = Reader{buf: body}
		start := time.Now()
		m.(decoder).decode(&r, v)
		best = min(best, time.Since(start))
		if best <= time.Second {
			break
		}
	}
	err := r.finish()
	if best > time.Second {
		t.Fatalf("v%d: decoding %d bytes took %v", v, len(body), best)
	}
	if r.work > len(body)+1 {
		t.Fatalf("v%d: %d decode iterations for %d bytes", v, r.work, len(body))
	}
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("v%d: error %v does not wrap ErrMalformed", v, err)
		}
		return
	}
	enc := m.AppendTo(nil, v)
	again := newMsg()
	if err := again.Decode(enc, v); err != nil {
		t.Fatalf("v%d: re-encoding does not decode: %v\ninput %x\nenc   %x", v, err, body, enc)
	}
	if enc2 := again.AppendTo(nil, v); !bytes.Equal(enc, enc2) {
		t.Fatalf("v%d: encoding is not canonical\nenc  %x\nenc2 %x", v, enc, enc2)
	}
}

func fuzzMessage(f *testing.F, newMsg func() Message) {
	for _, s := range messageSeeds(newMsg, 1) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, newMsg, data) })
}

// FuzzResponse covers every response decoder: the first two bytes pick
// the API.
func FuzzResponse(f *testing.F) {
	apis := APIs()
	for i, a := range apis {
		newMsg := func() Message { return NewResponse(a.Key) }
		for j, s := range messageSeeds(newMsg, uint64(i)) {
			if j%4 == 0 {
				f.Add(append([]byte{0, byte(i)}, s...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		a := apis[(int(data[0])<<8|int(data[1]))%len(apis)]
		checkDecode(t, func() Message { return NewResponse(a.Key) }, data[2:])
	})
}

// FuzzRequestFrame covers request header parsing and dispatch.
func FuzzRequestFrame(f *testing.F) {
	client := "fuzz"
	for i, a := range APIs() {
		m := NewRequest(a.Key)
		fl := &filler{rng: rand.New(rand.NewPCG(uint64(i), 3))}
		fl.fill(reflect.ValueOf(m).Elem())
		for _, v := range []int16{a.MinVersion, a.MaxVersion} {
			frame := AppendRequest(nil, m, v, int32(i), &client)
			f.Add(frame[4:])
		}
	}
	f.Add([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0x01, 0x01, 0xff, 0xff, 0xff, 0x7f, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, m, err := DecodeRequest(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadVersion) && !errors.Is(err, ErrUnknownAPI) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		var clientID *string
		if h.ClientID != nil {
			clientID = h.ClientID
		}
		frame := AppendRequest(nil, m, h.RequestApiVersion, h.CorrelationID, clientID)
		h2, m2, err := DecodeRequest(frame[4:])
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if h2.CorrelationID != h.CorrelationID || !bytes.Equal(m2.AppendTo(nil, h.RequestApiVersion), m.AppendTo(nil, h.RequestApiVersion)) {
			t.Fatalf("request does not survive a round trip")
		}
	})
}

// TestDecodeWorkBounded runs every request and response decoder over its
// fuzz seeds — valid, truncated and adversarial — and fails if decoding
// loops more than once per input byte or takes over a second.
func TestDecodeWorkBounded(t *testing.T) {
	n := 0
	for i, a := range APIs() {
		for _, newMsg := range []func() Message{
			func() Message { return NewRequest(a.Key) },
			func() Message { return NewResponse(a.Key) },
		} {
			for _, s := range messageSeeds(newMsg, uint64(i)) {
				checkDecode(t, newMsg, s)
				n++
			}
		}
	}
	t.Logf("%d seeds decoded within bounds", n)
}

// TestTagCountBomb is the case that makes unbounded decoders spin: an
// ApiVersions v3 body of seven bytes whose tag count claims millions of
// fields. It must fail at once.
func TestTagCountBomb(t *testing.T) {
	body := []byte{0x01, 0x01, 0xff, 0xff, 0xff, 0x7f, 0x00}
	var m ApiVersionsRequest
	r := Reader{buf: body}
	m.decode(&r, 3)
	if err := r.finish(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if r.work > len(body) {
		t.Fatalf("%d iterations for %d bytes", r.work, len(body))
	}
}
