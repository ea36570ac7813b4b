package keys

import (
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignRS256VerifiesAsAJWTSignature(t *testing.T) {
	t.Parallel()
	k := Pooled(0)
	input := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1dGkiOiJhYmMifQ"
	sig, err := k.SignRS256([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != k.Private.Size() {
		t.Fatalf("signature is %d bytes, want %d (RSA-2048)", len(sig), k.Private.Size())
	}
	if err := jwt.SigningMethodRS256.Verify(input, sig, &k.Private.PublicKey); err != nil {
		t.Fatalf("golang-jwt does not accept the RS256 signature: %v", err)
	}
	if err := jwt.SigningMethodRS256.Verify(input+"x", sig, &k.Private.PublicKey); err == nil {
		t.Fatal("the signature also verifies for another input")
	}
}

func TestSignRS256ConcurrentCallersAllGetValidSignatures(t *testing.T) {
	t.Parallel()
	k := Pooled(0)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			input := string(rune('a'+i)) + ".payload"
			sig, err := k.SignRS256([]byte(input))
			if err != nil {
				t.Error(err)
				return
			}
			if err := jwt.SigningMethodRS256.Verify(input, sig, &k.Private.PublicKey); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}

// waitQueued waits until n callers wait at g, so a test knows the order they came in.
func waitQueued(t *testing.T, g *gate, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); g.queued() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait at the gate, want %d", g.queued(), n)
		}
	}
}

func TestGateAdmitsAtMostItsSlotsInArrivalOrder(t *testing.T) {
	t.Parallel()
	g := newGate(2)
	g.enter()
	g.enter() // both slots taken
	order := make(chan int, 5)
	for i := range 5 {
		go func() {
			g.enter()
			order <- i
		}()
		waitQueued(t, g, i+1) // caller i is queued before caller i+1 starts
	}
	select {
	case i := <-order:
		t.Fatalf("caller %d got in while both slots were taken", i)
	default:
	}
	for want := range 5 {
		g.leave()
		if got := <-order; got != want {
			t.Fatalf("caller %d got in after %d callers; want arrival order", got, want)
		}
	}
	if g.queued() != 0 {
		t.Fatalf("%d callers still wait", g.queued())
	}
}

func TestGateFreesSlotsWhenNobodyWaits(t *testing.T) {
	t.Parallel()
	g := newGate(1)
	g.enter()
	g.leave()
	done := make(chan struct{})
	go func() {
		g.enter() // the slot is free again: no wait
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("enter waited on a free slot")
	}
	if newGate(0).free != 1 {
		t.Fatal("a gate with no slots would never admit anyone; it must have at least one")
	}
}
