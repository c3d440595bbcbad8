package baseline

import (
	"reflect"
	"testing"
)

// TestStackIndex: a stack added again, in either frame order, is summed
// into the one the series holds; a new one is appended root first; an
// index built on a series with stacks finds them.
func TestStackIndex(t *testing.T) {
	type add struct {
		frames    []int32
		leafFirst bool
		value     int64
	}
	tests := []struct {
		name string
		have []Stack
		adds []add
		want []Stack
	}{
		{"new stacks appended root first", nil,
			[]add{{[]int32{2, 1, 0}, true, 5}, {[]int32{0, 3}, false, 7}},
			[]Stack{{Frames: []int32{0, 1, 2}, Value: 5}, {Frames: []int32{0, 3}, Value: 7}}},
		{"the same stack in either order is summed", nil,
			[]add{{[]int32{2, 1, 0}, true, 5}, {[]int32{0, 1, 2}, false, 3}, {[]int32{2, 1, 0}, true, 1}},
			[]Stack{{Frames: []int32{0, 1, 2}, Value: 9}}},
		{"a prefix or a reversal is another stack", nil,
			[]add{{[]int32{0, 1}, false, 1}, {[]int32{0, 1, 2}, false, 2}, {[]int32{1, 0}, false, 4}},
			[]Stack{{Frames: []int32{0, 1}, Value: 1}, {Frames: []int32{0, 1, 2}, Value: 2}, {Frames: []int32{1, 0}, Value: 4}}},
		{"a loaded series' stacks are found", []Stack{{Frames: []int32{0, 1}, Value: 10}, {Frames: []int32{0}, Value: 1}},
			[]add{{[]int32{1, 0}, true, 5}, {[]int32{0}, false, 2}, {[]int32{0, 2}, false, 3}},
			[]Stack{{Frames: []int32{0, 1}, Value: 15}, {Frames: []int32{0}, Value: 3}, {Frames: []int32{0, 2}, Value: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := &Series{Stacks: tt.have}
			ix := NewStackIndex(se)
			buf := make([]int32, 0, 8)
			for _, a := range tt.adds {
				// The caller's frames are a buffer it reuses: Add keeps a copy.
				buf = append(buf[:0], a.frames...)
				ix.Add(buf, a.leafFirst, a.value)
				for i := range buf {
					buf[i] = -1
				}
			}
			if !reflect.DeepEqual(se.Stacks, tt.want) {
				t.Errorf("stacks = %v, want %v", se.Stacks, tt.want)
			}
		})
	}
}
