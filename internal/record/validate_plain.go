package record

import "math"

// summarizePlain is summarize for an uncompressed batch b whose framing
// and CRC were checked and whose header is h. It walks the records in
// place, checks exactly what Records checks and fails with the same
// errors, but keeps only what a Summary needs instead of decoding each
// record into a Record: it is the produce path's per-record loop.
func summarizePlain(b []byte, h BatchHeader, opts Options) (Summary, error) {
	if err := checkHeader(&h, &opts); err != nil {
		return Summary{}, err
	}
	body := b[HeaderSize:]
	if err := checkFits(&h, body); err != nil {
		return Summary{}, err
	}
	s := Summary{
		Header:             h,
		MinTimestamp:       math.MaxInt64,
		MaxTimestamp:       math.MinInt64,
		FirstNullKey:       -1,
		ConsecutiveOffsets: true,
	}
	rest := body
	last := int32(-1)
	for idx := int32(0); idx < h.NumRecords; idx++ {
		l, n := varintAt(rest, 0)
		if n <= 0 || l < minRecordBody || int(l) > len(rest)-n {
			return Summary{}, recordLengthError(rest, idx, h.NumRecords, l, n)
		}
		end := n + int(l)
		tsDelta, d, nullKey, reason := scanRecord(rest[n:end:end])
		rest = rest[end:]
		if reason != "" {
			return Summary{}, corruptf(KindRecord, "record %d: %s", idx, reason)
		}
		if d != idx && opts.ProducerChecks || d <= last || d > h.LastOffsetDelta {
			return Summary{}, offsetDeltaError(idx, d, last, h.LastOffsetDelta, opts.ProducerChecks)
		}
		if d != idx {
			s.ConsecutiveOffsets = false
		}
		last = d
		ts := h.BaseTimestamp + tsDelta
		if ts != NoTimestamp {
			s.MinTimestamp = min(s.MinTimestamp, ts)
		}
		s.MaxTimestamp = max(s.MaxTimestamp, ts)
		if nullKey {
			if s.NullKeys == 0 {
				s.FirstNullKey = idx
			}
			s.NullKeys++
		}
	}
	if len(rest) != 0 {
		return Summary{}, corruptf(KindRecord, "%d bytes follow the last record", len(rest))
	}
	if h.NumRecords == 0 {
		s.MinTimestamp, s.MaxTimestamp = NoTimestamp, NoTimestamp
	}
	if s.MinTimestamp == math.MaxInt64 {
		s.MinTimestamp = NoTimestamp
	}
	s.UncompressedBytes = int64(len(body))
	return s, nil
}

// scanRecord checks the record body p (after the length varint) as parse
// does and returns its timestamp and offset deltas and whether its key is
// null, or the reason it is malformed.
//
// It first tries the shape a producer of small records sends: every
// varint of one or two bytes and no headers, read with the decoding
// inlined. Anything else, a malformed record included, goes to
// scanRecordAny, which gives the same answer for that shape.
func scanRecord(p []byte) (tsDelta int64, offsetDelta int32, nullKey bool, reason string) {
	ts, i, ok := shortVarintAt(p, 1) // after the attributes
	if !ok {
		return scanRecordAny(p)
	}
	d, i, ok := shortVarintAt(p, i)
	if !ok {
		return scanRecordAny(p)
	}
	kl, i, ok := shortVarintAt(p, i)
	if !ok || kl < -1 || kl > int64(len(p)-i) {
		return scanRecordAny(p)
	}
	i += int(max(kl, 0))
	vl, i, ok := shortVarintAt(p, i)
	if !ok || vl < -1 || vl > int64(len(p)-i) {
		return scanRecordAny(p)
	}
	i += int(max(vl, 0))
	// No headers: their count, zero, is the record's last byte.
	if i != len(p)-1 || p[i] != 0 {
		return scanRecordAny(p)
	}
	return ts, int32(d), kl == -1, ""
}

// scanRecordAny is scanRecord for a record of any shape.
func scanRecordAny(p []byte) (tsDelta int64, offsetDelta int32, nullKey bool, reason string) {
	i := 1 // attributes
	if tsDelta, i = varlongAt(p, i); i <= 1 {
		return 0, 0, false, "bad timestamp delta varlong"
	}
	j := i
	if offsetDelta, i = varintAt(p, i); i <= j {
		return 0, 0, false, "bad offset delta varint"
	}
	var keyLen int32
	if keyLen, i, reason = skipBytes(p, i, "key"); reason != "" {
		return 0, 0, false, reason
	}
	if _, i, reason = skipBytes(p, i, "value"); reason != "" {
		return 0, 0, false, reason
	}
	j = i
	count, i := varintAt(p, i)
	if i <= j {
		return 0, 0, false, "bad header count varint"
	}
	if count < 0 || int(count) > (len(p)-i)/minHeaderSize {
		return 0, 0, false, "header count does not fit the record"
	}
	for range count {
		var hk int32
		if hk, i, reason = skipBytes(p, i, "header key"); reason != "" {
			return 0, 0, false, reason
		}
		if hk == -1 {
			return 0, 0, false, "null header key"
		}
		if _, i, reason = skipBytes(p, i, "header value"); reason != "" {
			return 0, 0, false, reason
		}
	}
	if i != len(p) {
		return 0, 0, false, "record length does not match its fields"
	}
	return tsDelta, offsetDelta, keyLen == -1, ""
}
