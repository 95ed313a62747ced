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
	if int64(h.NumRecords)*minRecordSize > int64(len(body)) {
		return Summary{}, corruptf(KindRecord, "%d records cannot fit in %d bytes", h.NumRecords, len(body))
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
		switch {
		case n == 0 && len(rest) == 0:
			return Summary{}, corruptf(KindRecord, "batch ends after %d of %d records", idx, h.NumRecords)
		case n <= 0:
			return Summary{}, corruptf(KindRecord, "record %d: bad length varint", idx)
		case l < minRecordBody:
			return Summary{}, corruptf(KindRecord, "record %d: length %d below the minimum %d", idx, l, minRecordBody)
		case int(l) > len(rest)-n:
			return Summary{}, corruptf(KindRecord, "record %d: length %d, %d bytes remain", idx, l, len(rest)-n)
		}
		end := n + int(l)
		tsDelta, d, nullKey, reason := scanRecord(rest[n:end:end])
		rest = rest[end:]
		if reason != "" {
			return Summary{}, corruptf(KindRecord, "record %d: %s", idx, reason)
		}
		switch {
		case opts.ProducerChecks && d != idx:
			return Summary{}, corruptf(KindRecord, "record %d: offset delta %d, produced batches need %d", idx, d, idx)
		case d <= last || d > h.LastOffsetDelta:
			return Summary{}, corruptf(KindRecord, "record %d: offset delta %d after %d, last offset delta %d", idx, d, last, h.LastOffsetDelta)
		}
		if d != idx {
			s.ConsecutiveOffsets = false
		}
		last = d
		ts := h.BaseTimestamp + tsDelta
		s.MinTimestamp = min(s.MinTimestamp, ts)
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
		s.MinTimestamp, s.MaxTimestamp = -1, -1
	}
	s.UncompressedBytes = int64(len(body))
	return s, nil
}

// scanRecord checks the record body p (after the length varint) as parse
// does and returns its timestamp and offset deltas and whether its key is
// null, or the reason it is malformed.
func scanRecord(p []byte) (tsDelta int64, offsetDelta int32, nullKey bool, reason string) {
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

// skipBytes is readBytes without the slice: it returns the length (-1
// for null) and the index past the bytes.
func skipBytes(p []byte, i int, what string) (int32, int, string) {
	l, next := varintAt(p, i)
	switch {
	case next <= i:
		return 0, i, "bad " + what + " length varint"
	case l < -1:
		return 0, next, "negative " + what + " length"
	case int(l) > len(p)-next:
		return 0, next, what + " runs past the record"
	case l == -1:
		return -1, next, ""
	}
	return l, next + int(l), ""
}
