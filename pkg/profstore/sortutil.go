package profstore

import (
	"slices"
)

func sortDesc(v []int64)     { slices.Sort(v); slices.Reverse(v) }
func sortStrings(v []string) { slices.Sort(v) }
