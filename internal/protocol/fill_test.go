package protocol

import (
	"math/rand/v2"
	"reflect"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// filler sets every field of a message, ours or kmsg's, to random values.
// It knows both codecs' representations: pointers for nullable strings
// and structs, nil for null slices, and each one's unknown-tag type.
type filler struct {
	rng   *rand.Rand
	depth int
}

var (
	kmsgTagsType = reflect.TypeFor[kmsg.Tags]()
	rawTagsType  = reflect.TypeFor[[]RawTag]()
	uuidType     = reflect.TypeFor[UUID]()
)

// firstUnknownTag is above every tag Kafka's specs assign, so random unknown
// tags sort after known ones in both codecs.
const firstUnknownTag = 40

func (f *filler) fill(v reflect.Value) {
	switch v.Type() {
	case kmsgTagsType:
		if f.rng.IntN(4) == 0 {
			t := v.Addr().Interface().(*kmsg.Tags)
			for range 1 + f.rng.IntN(2) {
				t.Set(uint32(firstUnknownTag+f.rng.IntN(20)), f.bytes(6))
			}
		}
		return
	case rawTagsType:
		if f.rng.IntN(4) == 0 {
			var tags []RawTag
			key := uint32(firstUnknownTag)
			for range 1 + f.rng.IntN(2) {
				key += uint32(1 + f.rng.IntN(5))
				tags = append(tags, RawTag{Key: key, Value: f.bytes(6)})
			}
			v.Set(reflect.ValueOf(tags))
		}
		return
	case uuidType:
		f.rng.Shuffle(0, nil)
		for i := range 16 {
			v.Index(i).SetUint(uint64(f.rng.IntN(256)))
		}
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.rng.IntN(2) == 0)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.int(v.Type().Bits()))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.int(v.Type().Bits())) & (1<<v.Type().Bits() - 1))
	case reflect.Float64:
		v.SetFloat(f.rng.NormFloat64() * 1000)
	case reflect.String:
		v.SetString(string(f.bytes(8)))
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Pointer:
		if f.rng.IntN(4) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if f.rng.IntN(5) == 0 {
				v.SetZero()
			} else {
				v.SetBytes(f.bytes(12))
			}
			return
		}
		if f.rng.IntN(5) == 0 || f.depth > 4 {
			v.SetZero()
			return
		}
		n := f.rng.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		f.depth++
		for i := range n {
			f.fill(s.Index(i))
		}
		f.depth--
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() || (sf.Name == "Version" && sf.Type.Kind() == reflect.Int16) ||
				sf.Type == reflect.TypeFor[*FileRecords]() { // not a wire field
				continue
			}
			f.fill(v.Field(i))
		}
	default:
		panic("filler: unsupported kind " + v.Kind().String() + " in " + v.Type().String())
	}
}

// int returns a random integer of the given width, biased toward small and
// boundary values, which exercise varints and defaults.
func (f *filler) int(bits int) int64 {
	switch f.rng.IntN(6) {
	case 0:
		return 0
	case 1:
		return -1
	case 2:
		return int64(f.rng.IntN(300))
	case 3:
		return -(1 << (bits - 1))
	case 4:
		return 1<<(bits-1) - 1
	default:
		return int64(f.rng.Uint64()) >> (64 - bits)
	}
}

func (f *filler) bytes(max int) []byte {
	b := make([]byte, f.rng.IntN(max+1))
	for i := range b {
		b[i] = byte('a' + f.rng.IntN(26))
	}
	return b
}
