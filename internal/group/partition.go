package group

import (
	"math"
	"unicode/utf16"
)

// PartitionFor returns the __consumer_offsets partition that holds groupID
// among partitions: Kafka's Utils.abs(groupId.hashCode()) % partitions,
// where hashCode is Java's String.hashCode over the UTF-16 code units of
// the id and Utils.abs is Math.abs except that MinInt32 maps to 0. (This is
// not n & 0x7fffffff, Kafka's toPositive, which the producer's partitioner
// uses: for a negative hash the two differ.) Every broker must compute
// the same function, so it must not change. It returns 0 when partitions
// is not positive.
func PartitionFor(groupID string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	h := javaStringHash(groupID)
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return h % partitions
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over UTF-16 code units with int32 wrap-around. Bytes that are not valid
// UTF-8 count as U+FFFD, as Java decodes them.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r < 0x10000 {
			h = 31*h + int32(r)
			continue
		}
		hi, lo := utf16.EncodeRune(r)
		h = 31*h + int32(hi)
		h = 31*h + int32(lo)
	}
	return h
}
