package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// A decoder streams the decompressed body of one batch. Decoders are pooled
// per codec; release returns one to its pool and must be the last call.
type decoder interface {
	io.Reader
	release()
}

// openDecoder returns a decoder over the compressed records body of a batch.
// limit is the caller's decompression bound, which some codecs can check
// before producing any output.
func openDecoder(c Codec, body []byte, limit int64) (decoder, error) {
	switch c {
	case CodecGzip:
		d := gzipPool.Get().(*gzipDecoder)
		d.src.Reset(body)
		if err := d.zr.Reset(&d.src); err != nil {
			d.release()
			return nil, decodeError(c, err)
		}
		d.zr.Multistream(true)
		return d, nil
	case CodecLZ4:
		d := lz4Pool.Get().(*lz4Decoder)
		d.src.reset(body)
		d.zr.Reset(&d.src)
		return d, nil
	case CodecZstd:
		pool := &zstdPools[zstdWindowLog(limit)-minZstdWindowLog]
		d, _ := pool.Get().(*zstdDecoder)
		if d == nil {
			zd, err := zstd.NewReader(nil,
				zstd.WithDecoderConcurrency(1), // decode on the caller's goroutine
				zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(1<<zstdWindowLog(limit)),
				zstd.WithDecoderMaxMemory(1<<zstdWindowLog(limit)),
			)
			if err != nil {
				return nil, err
			}
			d = &zstdDecoder{zd: zd, pool: pool}
		}
		d.src.reset(body)
		if err := d.zd.Reset(&d.src); err != nil {
			d.release()
			return nil, decodeError(c, err)
		}
		return d, nil
	case CodecSnappy:
		d := snappyPool.Get().(*snappyDecoder)
		if err := d.open(body, limit); err != nil {
			d.release()
			return nil, err
		}
		return d, nil
	}
	return nil, ErrUnsupportedCompression
}

// decodeError turns a codec's error into ours: bound errors stay
// ErrDecompressLimit, everything else is corruption.
func decodeError(c Codec, err error) error {
	switch {
	case errors.Is(err, ErrDecompressLimit):
		return err
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("%w: zstd frame window larger than the bound", ErrDecompressLimit)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return corruptf(KindCompression, "%s: compressed data ends early", c)
	}
	return corruptf(KindCompression, "%s: %v", c, err)
}

// sliceReader reads a byte slice. It is our own type so no codec can spot
// a *bytes.Buffer (zstd decodes one of those whole, into one allocation,
// rather than streaming it).
type sliceReader struct {
	b []byte
	i int
}

func (r *sliceReader) reset(b []byte) { r.b, r.i = b, 0 }

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// gzip ---------------------------------------------------------------------

// gzip reads from a *bytes.Reader: flate has a fast path for it (and for
// a few other concrete types) and falls back to a byte-at-a-time interface
// call for any other io.ByteReader, several times slower.
type gzipDecoder struct {
	zr  gzip.Reader
	src bytes.Reader
}

var gzipPool = sync.Pool{New: func() any { return new(gzipDecoder) }}

func (d *gzipDecoder) Read(p []byte) (int, error) { return d.zr.Read(p) }

func (d *gzipDecoder) release() {
	d.src.Reset(nil)
	gzipPool.Put(d)
}

// lz4 ----------------------------------------------------------------------

type lz4Decoder struct {
	zr  *lz4.Reader
	src sliceReader
}

var lz4Pool = sync.Pool{New: func() any { return &lz4Decoder{zr: lz4.NewReader(nil)} }}

func (d *lz4Decoder) Read(p []byte) (int, error) { return d.zr.Read(p) }

func (d *lz4Decoder) release() {
	d.zr.Reset(nil) // returns the block buffer to lz4's own pool
	d.src.reset(nil)
	lz4Pool.Put(d)
}

// zstd ---------------------------------------------------------------------

// A zstd frame declares a window, and the decoder allocates a buffer of
// about that size up front, before any output exists. To keep that
// allocation tied to the caller's bound rather than to a claim in the input,
// decoders reject windows over the bound rounded up to a power of two,
// clamped to [8 MiB, 128 MiB]: 8 MiB covers what producers write at every
// level up to 19 (a batch never needs more than its own size anyway), and
// 128 MiB is the largest window zstd's reference decoder accepts by
// default. Decoders are pooled per window size.
const (
	minZstdWindowLog = 23
	maxZstdWindowLog = 27
)

var zstdPools [maxZstdWindowLog - minZstdWindowLog + 1]sync.Pool

func zstdWindowLog(limit int64) int {
	l := bits.Len64(uint64(limit - 1))
	return min(max(l, minZstdWindowLog), maxZstdWindowLog)
}

type zstdDecoder struct {
	zd   *zstd.Decoder
	src  sliceReader
	pool *sync.Pool
}

func (d *zstdDecoder) Read(p []byte) (int, error) { return d.zd.Read(p) }

func (d *zstdDecoder) release() {
	_ = d.zd.Reset(nil) // drop the reference to the input
	d.src.reset(nil)
	d.pool.Put(d)
}

// snappy -------------------------------------------------------------------

// Kafka's snappy batches come in two shapes. The Java client (through
// snappy-java's SnappyOutputStream) and librdkafka write xerial framing: an
// 8 byte magic, two big endian int32 versions, then blocks each prefixed by
// its big endian int32 length. Some clients write one raw snappy block. We
// read both, stream xerial block by block, and decode a raw block whole.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderLen = 16
	xerialBlockSize = 32 << 10 // what snappy-java writes; also what we write

	// maxSnappyExpansion bounds how many bytes one compressed byte can
	// become: the best snappy element is a 3 byte copy of 64 bytes. A
	// block claiming more than this is lying, and we say so before
	// allocating for it.
	maxSnappyExpansion = 22
)

type snappyDecoder struct {
	xerial bool
	src    []byte // compressed bytes not yet decoded
	out    []byte // the decoded block being read
	pos    int    // read position in out
	left   int64  // decompression budget left
}

var snappyPool = sync.Pool{New: func() any { return new(snappyDecoder) }}

func (d *snappyDecoder) open(body []byte, limit int64) error {
	d.out, d.pos, d.left = d.out[:0], 0, limit
	if len(body) >= xerialHeaderLen && bytes.Equal(body[:len(xerialMagic)], xerialMagic) {
		d.xerial, d.src = true, body[xerialHeaderLen:]
		return nil
	}
	d.xerial, d.src = false, nil
	return d.decodeBlock(body)
}

// decodeBlock decodes one raw snappy block into d.out after bounding its
// claimed size by the budget and by what its compressed size allows.
func (d *snappyDecoder) decodeBlock(block []byte) error {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return decodeError(CodecSnappy, err)
	}
	if int64(n) > d.left {
		return ErrDecompressLimit
	}
	if n > maxSnappyExpansion*len(block) {
		return corruptf(KindCompression, "snappy: block of %d bytes claims %d decoded bytes", len(block), n)
	}
	if cap(d.out) < n {
		d.out = make([]byte, n)
	}
	// The strict decoder accepts exactly standard snappy, which is what
	// Java consumers can read; the default one also takes S2 extensions.
	out, err := snappy.DecodeStrict(d.out[:n], block)
	if err != nil {
		return decodeError(CodecSnappy, err)
	}
	d.out, d.pos = out, 0
	d.left -= int64(n)
	return nil
}

func (d *snappyDecoder) Read(p []byte) (int, error) {
	for d.pos == len(d.out) {
		if !d.xerial || len(d.src) == 0 {
			return 0, io.EOF
		}
		if len(d.src) < 4 {
			return 0, corrupt(KindCompression, "snappy: xerial block length cut short")
		}
		size := binary.BigEndian.Uint32(d.src)
		if uint64(size) > uint64(len(d.src)-4) {
			return 0, corruptf(KindCompression, "snappy: xerial block of %d bytes, %d remain", size, len(d.src)-4)
		}
		block := d.src[4 : 4+size]
		d.src = d.src[4+size:]
		if err := d.decodeBlock(block); err != nil {
			return 0, err
		}
	}
	n := copy(p, d.out[d.pos:])
	d.pos += n
	return n, nil
}

func (d *snappyDecoder) release() {
	d.src = nil
	if cap(d.out) > keepBufferCap {
		d.out = nil
	}
	snappyPool.Put(d)
}
