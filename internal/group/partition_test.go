package group

import (
	"math"
	"testing"
)

// The expected values are Java's: String.hashCode() of each id, and
// Kafka's Utils.abs(hash) % partitions.
func TestPartitionFor(t *testing.T) {
	tests := []struct {
		id         string
		hash       int32
		partitions int32
		want       int32
	}{
		{"", 0, 50, 0},
		{"a", 97, 50, 47},
		{"group", 98629247, 50, 47},
		{"hello", 99162322, 50, 22},
		// A negative hash: Math.abs, not n & 0x7fffffff (which gives 22).
		{"Hello World", -862545276, 50, 26},
		// Integer.MIN_VALUE: Utils.abs maps it to 0.
		{"polygenelubricants", math.MinInt32, 50, 0},
		// Non-ASCII: UTF-16 code units, a surrogate pair for U+1F600.
		{"é", 233, 50, 33},
		{"日本", 835047, 50, 47},
		{"😀", 1772899, 50, 49},
		{"consumer-group-😀-é", 1617402820, 50, 20},
		{"my-group-1", 1806687554, 7, 0},
		{"a", 97, 1, 0},
	}
	for _, tt := range tests {
		if got := javaStringHash(tt.id); got != tt.hash {
			t.Errorf("javaStringHash(%q) = %d, want %d", tt.id, got, tt.hash)
		}
		if got := PartitionFor(tt.id, tt.partitions); got != tt.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", tt.id, tt.partitions, got, tt.want)
		}
	}
	if got := PartitionFor("a", 0); got != 0 {
		t.Errorf("PartitionFor with no partitions = %d, want 0", got)
	}
	// Invalid UTF-8 counts as U+FFFD, as Java decodes it.
	if got, want := javaStringHash("\xff"), int32(0xfffd); got != want {
		t.Errorf("javaStringHash(invalid) = %d, want %d", got, want)
	}
}
