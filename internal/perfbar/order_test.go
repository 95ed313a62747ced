package perfbar

import "testing"

// TestOrderBalanced checks that over a whole design every repetition's
// order is a permutation and every target follows every other equally
// often: once for an even count, twice for an odd one.
func TestOrderBalanced(t *testing.T) {
	for n := 2; n <= 7; n++ {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i
		}
		reps, want := n, 1
		if n%2 == 1 {
			reps, want = 2*n, 2
		}
		follows := map[[2]int]int{}
		for rep := 1; rep <= reps; rep++ {
			o := order(ids, rep)
			seen := make([]bool, n)
			for j, id := range o {
				if seen[id] {
					t.Fatalf("n=%d rep %d: %v is not a permutation", n, rep, o)
				}
				seen[id] = true
				if j > 0 {
					follows[[2]int{o[j-1], id}]++
				}
			}
		}
		for a := range n {
			for b := range n {
				if a != b && follows[[2]int{a, b}] != want {
					t.Errorf("n=%d: %d follows %d %d times, want %d", n, b, a, follows[[2]int{a, b}], want)
				}
			}
		}
		if n > 2 {
			if o1, o2 := order(ids, 1), order(ids, reps+1); o1[0] != o2[0] || o1[1] != o2[1] {
				t.Errorf("n=%d: the design does not repeat after %d repetitions: %v, %v", n, reps, o1, o2)
			}
		}
	}
	t.Log(order([]string{"sluice", "pagecache", "kfake", "blackhole", "cluster"}, 1))
}
