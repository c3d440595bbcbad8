package bank

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
)

// IdempotencyHeader carries the key of one business request. A client may
// send its own (and retry with it); the gateway makes one when it does not,
// returns it in the response, and passes it to every service that commits
// something, which books a key once and answers a repeat with what it booked.
// So a retry, by the client or by the gateway after a timeout, never pays or
// books twice.
const IdempotencyHeader = "Idempotency-Key"

// idempotencyKey returns the request's key, or a new random one when it has
// none (fromClient false); a malformed key is a client error.
func idempotencyKey(r *http.Request) (key string, fromClient bool, err error) {
	k := r.Header.Get(IdempotencyHeader)
	if k == "" {
		var b [12]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
		return "gw-" + hex.EncodeToString(b[:]), false, nil
	}
	if err := checkID(IdempotencyHeader+" header", k); err != nil {
		return "", false, err
	}
	return k, true, nil
}

// downstreamKey derives the key a step of a business request sends to one
// service, so the payment and the notification of one transfer are keyed
// apart.
func downstreamKey(key, step string) string {
	k := key + "-" + step
	if len(k) > 64 {
		k = k[:64]
	}
	return k
}

// keyedResults remembers, per idempotency key, what was booked for it, for a
// bounded number of keys (oldest forgotten first) and, when made with
// newKeyedResultsSized, a bounded number of bytes. A key being worked on is
// claimed, so two concurrent requests with one key do not both book.
type keyedResults[T any] struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	size     func(T) int64 // nil: only the number of keys is bounded
	bytes    int64
	done     map[string]T
	fifo     []string
	pending  map[string]bool
}

func newKeyedResults[T any](max int) *keyedResults[T] {
	return &keyedResults[T]{max: max, done: map[string]T{}, pending: map[string]bool{}}
}

// newKeyedResultsSized bounds the answers kept by their total size too, as
// size counts one (plus its key), for answers whose size the client sets.
func newKeyedResultsSized[T any](max int, maxBytes int64, size func(T) int64) *keyedResults[T] {
	k := newKeyedResults[T](max)
	k.maxBytes, k.size = maxBytes, size
	return k
}

// claim returns what was booked for key (replay true), or claims key for
// the caller, who must then call finish or release. busy means another
// request holds the claim.
func (k *keyedResults[T]) claim(key string) (v T, replay, busy bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.done[key]; ok {
		return v, true, false
	}
	if k.pending[key] {
		return v, false, true
	}
	k.pending[key] = true
	return v, false, false
}

// finish records what was booked for a claimed key.
func (k *keyedResults[T]) finish(key string, v T) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.pending, key)
	if old, ok := k.done[key]; ok {
		k.bytes -= k.cost(key, old)
	} else {
		k.fifo = append(k.fifo, key)
	}
	k.done[key] = v
	k.bytes += k.cost(key, v)
	for len(k.fifo) > k.max || (k.maxBytes > 0 && k.bytes > k.maxBytes && len(k.fifo) > 1) {
		oldest := k.fifo[0]
		k.bytes -= k.cost(oldest, k.done[oldest])
		delete(k.done, oldest)
		k.fifo = k.fifo[1:]
	}
}

// cost is what one kept answer is charged against maxBytes.
func (k *keyedResults[T]) cost(key string, v T) int64 {
	if k.size == nil {
		return 0
	}
	return int64(len(key)) + k.size(v)
}

// release gives up a claim when nothing was booked.
func (k *keyedResults[T]) release(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.pending, key)
}

// errKeyBusy answers a request whose key another request is working on.
func errKeyBusy(key string) error {
	return errorf(http.StatusConflict, "a request with %s %q is still in progress; retry it when that one has answered", IdempotencyHeader, key)
}
