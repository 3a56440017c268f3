package batch_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"paysplit/internal/batch"
)

func TestWaiting(t *testing.T) {
	tests := []struct {
		name    string
		queued  []int
		into    []int
		limit   int
		want    []int
		left    int
		counted int
	}{
		{name: "takes all that waits", queued: []int{1, 2}, into: []int{0}, limit: 10, want: []int{0, 1, 2}},
		{name: "stops at the limit", queued: []int{1, 2, 3}, into: []int{0}, limit: 3, want: []int{0, 1, 2}, left: 1, counted: 2},
		{name: "nothing waiting", into: []int{0}, limit: 3, want: []int{0}},
		{name: "already full", queued: []int{1}, into: []int{0}, limit: 1, want: []int{0}, left: 1},
		{name: "from nothing", queued: []int{7}, limit: 2, want: []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan int, 10)
			for _, v := range tt.queued {
				ch <- v
			}
			var seen []int
			got := batch.Waiting(ch, tt.into, tt.limit, func(v int) { seen = append(seen, v) })
			assert.Equal(t, tt.want, got)
			assert.Len(t, ch, tt.left, "what is over the limit stays queued")
			assert.Equal(t, got[len(tt.into):], append([]int{}, seen...), "each is called with every value taken, in order")
		})
	}
}

func TestWaitingWithoutEach(t *testing.T) {
	ch := make(chan string, 2)
	ch <- "a"
	assert.Equal(t, []string{"a"}, batch.Waiting(ch, nil, 5, nil))
}
