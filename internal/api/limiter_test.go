package api

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(3, 10*time.Second, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.allow("alice"); !ok {
			t.Fatalf("attempt %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.allow("alice")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th attempt = %v, wait %v; want refused, wait 10s", ok, wait)
	}
	if ok, _ := l.allow("bob"); !ok {
		t.Fatal("another key is limited by alice's attempts")
	}
	now = now.Add(5 * time.Second)
	if ok, wait := l.allow("alice"); ok || wait != 5*time.Second {
		t.Fatalf("after 5s = %v, wait %v; want refused, wait 5s", ok, wait)
	}
	now = now.Add(5 * time.Second)
	if ok, _ := l.allow("alice"); !ok {
		t.Fatal("attempt refused after a full refill interval")
	}
	if ok, _ := l.allow("alice"); ok {
		t.Fatal("second attempt allowed after refilling only one")
	}
	l.reset("alice")
	if ok, _ := l.allow("alice"); !ok {
		t.Fatal("attempt refused after reset")
	}
}

func TestLimiterPrunesRefilledKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(2, time.Second, func() time.Time { return now })
	for i := range maxLimiterKeys {
		l.allow(strconv.Itoa(i))
	}
	if len(l.buckets) != maxLimiterKeys {
		t.Fatalf("%d buckets, want %d", len(l.buckets), maxLimiterKeys)
	}
	now = now.Add(2 * time.Second) // every bucket has refilled
	l.allow("new")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after pruning, want 1", len(l.buckets))
	}
}
