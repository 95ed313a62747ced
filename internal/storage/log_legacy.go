package storage

// LegacyOffsetsBefore answers ListOffsets v0, which predates record
// timestamps: up to limit offsets, largest first, taken from the start of
// each segment (never below the log start) whose file was last modified
// at or before ts, and the log end (counted as modified now) when the
// active segment holds data. ts -1 starts from the newest entry, -2
// answers the oldest only; only a lookup by time reads the files'
// modification times. As Kafka's legacy lookup, a segment whose file
// cannot be described counts as modified at time 0.
func (l *Log) LegacyOffsetsBefore(ts int64, limit int) []int64 {
	type entry struct{ offset, modified int64 }
	segs := l.segments()
	start := l.StartOffset()
	entries := make([]entry, 0, len(segs)+1)
	for _, s := range segs {
		var modified int64
		if ts >= 0 {
			if fi, err := s.fs.Stat(s.path(logSuffix)); err == nil {
				modified = fi.ModTime().UnixMilli()
			}
		}
		entries = append(entries, entry{offset: max(s.base, start), modified: modified})
	}
	if len(segs) > 0 && segs[len(segs)-1].size.Load() > 0 {
		entries = append(entries, entry{offset: l.EndOffset(), modified: l.now().UnixMilli()})
	}
	from := -1
	switch ts {
	case -1:
		from = len(entries) - 1
	case -2:
		from = min(0, len(entries)-1)
	default:
		for from = len(entries) - 1; from >= 0 && entries[from].modified > ts; from-- {
		}
	}
	n := min(limit, from+1)
	if n <= 0 {
		return nil
	}
	// Entries run in offset order, so walking down gives the largest first.
	out := make([]int64, 0, n)
	for i := from; i > from-n; i-- {
		out = append(out, entries[i].offset)
	}
	return out
}
