package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

type item struct {
	n      int
	key    bool
	sticky bool
}

func drain(t *testing.T, q *Queue[int]) []int {
	t.Helper()
	var got []int
	for q.Len() > 0 {
		v, err := q.Pop(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	return got
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		waitKey bool
		push    []item
		want    []int
		dropped uint64
	}{
		{"fits", 4, false, []item{{1, true, false}, {2, false, false}, {3, false, false}}, []int{1, 2, 3}, 0},
		{"new viewer waits for a keyframe", 4, true,
			[]item{{1, false, false}, {2, false, false}, {3, true, false}, {4, false, false}}, []int{3, 4}, 0},
		{"overflow skips to the next keyframe, never mid-GOP", 3, false,
			[]item{{1, true, false}, {2, false, false}, {3, false, false}, {4, false, false}, {5, false, false}, {6, true, false}, {7, false, false}},
			[]int{6, 7}, 5},
		{"overflow on a keyframe keeps it", 2, false,
			[]item{{1, true, false}, {2, false, false}, {3, true, false}}, []int{3}, 2},
		{"sticky items survive overflow", 2, false,
			[]item{{100, false, true}, {1, true, false}, {2, false, false}, {3, false, false}, {4, true, false}},
			[]int{100, 4}, 3},
		{"sticky items pass while waiting for a keyframe", 2, true,
			[]item{{1, false, false}, {100, false, true}, {2, true, false}}, []int{100, 2}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := New[int](tc.max, tc.waitKey)
			for _, it := range tc.push {
				q.Push(it.n, it.key, it.sticky)
			}
			got := drain(t, q)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			if q.Dropped() != tc.dropped {
				t.Errorf("dropped %d, want %d", q.Dropped(), tc.dropped)
			}
		})
	}
}

func TestResync(t *testing.T) {
	q := New[int](10, false)
	q.Push(1, true, false)
	q.Push(50, false, true)
	q.Push(2, false, false)
	q.Resync()
	q.Push(3, false, false)
	q.Push(4, true, false)
	got := drain(t, q)
	if len(got) != 2 || got[0] != 50 || got[1] != 4 {
		t.Fatalf("got %v, want [50 4]", got)
	}
}

func TestPopWaitsAndCloses(t *testing.T) {
	q := New[int](2, false)
	go func() {
		time.Sleep(20 * time.Millisecond)
		q.Push(7, true, false)
		q.Close()
	}()
	v, err := q.Pop(context.Background())
	if err != nil || v != 7 {
		t.Fatalf("Pop = %d, %v", v, err)
	}
	if _, err := q.Pop(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if q.Push(8, true, false) {
		t.Fatal("push after close accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New[int](1, false).Pop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Pop: %v", err)
	}
}

// Held items obey the same bounds as pushed ones (overflow skips to the
// next key item) but do not wake the consumer; Wake or the next Push does,
// and PopAll takes everything queued at once.
func TestHoldWakePopAll(t *testing.T) {
	q := New[int](3, false)
	woken := func() bool { return len(q.notify) > 0 }
	q.Hold(1, true)
	q.Hold(2, false)
	if woken() {
		t.Fatal("Hold woke the consumer")
	}
	q.Wake()
	if !woken() {
		t.Fatal("Wake did not wake the consumer")
	}
	q.Hold(3, false)
	q.Hold(4, false) // overflow: skip to the next key item
	q.Hold(5, false)
	q.Hold(6, true)
	q.Hold(7, false)
	q.Push(100, false, true)
	got, err := q.PopAll(context.Background(), []int{-1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{-1, 6, 7, 100}; !slices.Equal(got, want) {
		t.Fatalf("PopAll = %v, want %v", got, want)
	}
	if q.Dropped() != 5 || q.Len() != 0 {
		t.Fatalf("dropped %d, len %d; want 5, 0", q.Dropped(), q.Len())
	}
	// The bound counts from empty again.
	for i := range 3 {
		q.Hold(10+i, false)
	}
	if q.Dropped() != 5 || q.Len() != 3 {
		t.Fatalf("after PopAll: dropped %d, len %d; want 5, 3", q.Dropped(), q.Len())
	}

	empty := New[int](1, false)
	empty.Wake()
	if len(empty.notify) > 0 {
		t.Fatal("Wake of an empty queue left a wake-up")
	}
	q.Close()
	if got, err := q.PopAll(context.Background(), nil); err != nil || len(got) != 3 {
		t.Fatalf("PopAll after Close = %v, %v; want what was queued", got, err)
	}
	if _, err := q.PopAll(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("PopAll of a closed, empty queue: %v", err)
	}
}
