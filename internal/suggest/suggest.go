// Package suggest finds the word a typo probably meant, for errors that
// say "did you mean ...?" (a rules file's keys, a command's flags).
package suggest

import "strings"

// Closest returns the candidate closest to word when it is close enough
// to be a typo of it — at most two edits (a swapped pair of letters is
// one), and fewer than half the candidate's letters — or "". Case and the
// difference between "-" and "_" do not count.
func Closest(word string, candidates []string) string {
	best, bestD := "", 3
	w := fold(word)
	for _, c := range candidates {
		d := Distance(w, fold(c))
		if d < bestD && 2*d < len(c) {
			best, bestD = c, d
		}
	}
	return best
}

func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "_")) }

// Distance is the Damerau–Levenshtein distance between a and b in the
// optimal-string-alignment form: insertions, deletions, substitutions and
// transpositions of neighbours each count one.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
