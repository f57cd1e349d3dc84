package deadletter_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
	"github.com/gentrack/gcis-bridge/bridge/embednats"
)

// seedBulk writes n dead letters of about 1 KiB each (10 tenants, both
// sources) with async publishes.
func (e *env) seedBulk(tb testing.TB, n int) {
	tb.Helper()
	pad := strings.Repeat("x", 850)
	classes := []deadletter.Class{deadletter.ClassRejected, deadletter.ClassExhausted, deadletter.ClassUnmapped}
	var futs []jetstream.PubAckFuture
	for i := 0; i < n; i++ {
		os := e.nextOS
		e.nextOS++
		src := []string{"junifer", "velocity"}[i%2]
		tenant := fmt.Sprintf("tenant-%02d", i%10)
		msg, err := e.w.Message(deadletter.Original{
			Subject: "gcis.events." + tenant + "." + src + ".bill-accepted", Stream: "GCIS_EVENTS", Sequence: os,
			Data: fmt.Appendf(nil, `{"eventId":"ev-%d","tenantId":%q,"data":{"pad":%q}}`, os, tenant, pad),
		}, deadletter.Info{Class: classes[i%3], ErrorCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Reason: "Account is closed", Attempts: 1})
		require.NoError(tb, err)
		f, err := e.js.PublishMsgAsync(msg)
		require.NoError(tb, err)
		futs = append(futs, f)
		if len(futs) == 1000 || i == n-1 {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					tb.Fatal(err)
				case <-time.After(30 * time.Second):
					tb.Fatal("no ack")
				}
			}
			futs = futs[:0]
		}
	}
}

// heapPeak samples the heap until stop is called and returns the peaks of
// the live heap (as marked by the last GC) and of the allocated heap
// (live plus garbage not yet collected), in bytes.
func heapPeak() (stop func() (live, alloc uint64)) {
	var (
		mu                  sync.Mutex
		peakLive, peakAlloc uint64
		done                = make(chan struct{})
		wg                  sync.WaitGroup
	)
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	sample := func() {
		metrics.Read(samples)
		mu.Lock()
		peakLive = max(peakLive, samples[0].Value.Uint64())
		peakAlloc = max(peakAlloc, samples[1].Value.Uint64())
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peakLive, peakAlloc
	}
}

const benchN = 100_000

// BenchmarkReplay100k replays 100,000 dead letters (1 KiB bodies),
// unthrottled, into the events stream and reports the rate and the peak
// heap. The NATS server runs in a child process (this test binary, see
// TestHelperNATSServer), so the heap figures are the replaying client's
// alone, as for `gcis-bridge dlq replay`. Run:
//
//	go test -run '^$' -bench Replay100k -benchtime 1x ./bridge/deadletter/
func BenchmarkReplay100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnvAt(b, startChildServer(b))
		e.seedBulk(b, benchN)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := heapPeak()
		b.StartTimer()
		start := time.Now()
		res, err := e.store.Replay(context.Background(), deadletter.Filter{}, deadletter.ReplayOptions{})
		took := time.Since(start)
		b.StopTimer()
		live, alloc := stop()
		require.NoError(b, err)
		require.Equal(b, benchN, res.Replayed)
		require.Zero(b, res.Failed)
		b.ReportMetric(float64(res.Replayed)/took.Seconds(), "replayed/s")
		b.ReportMetric(float64(live)/(1<<20), "peak-live-heap-MB")
		b.ReportMetric(float64(alloc)/(1<<20), "peak-heap-alloc-MB")
		b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "heap-before-MB")
	}
}

// startChildServer runs an embedded JetStream in a child process (this
// test binary running TestHelperNATSServer) and returns its URL; the child
// stops when the benchmark ends.
func startChildServer(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNATSServer$")
	cmd.Env = append(os.Environ(), "GCIS_DLQ_HELPER_SERVER="+tb.TempDir())
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		_ = stdin.Close() // the child shuts down on EOF
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(tb, err, "child server did not start")
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "URL=")
	require.True(tb, ok, "child server said %q", line)
	return url
}

// TestHelperNATSServer is not a test: run by startChildServer with
// GCIS_DLQ_HELPER_SERVER set, it serves JetStream until stdin closes.
func TestHelperNATSServer(t *testing.T) {
	dir := os.Getenv("GCIS_DLQ_HELPER_SERVER")
	if dir == "" {
		return // an ordinary test run: nothing to do
	}
	s, err := embednats.Start(embednats.Config{StoreDir: dir})
	require.NoError(t, err)
	defer s.Shutdown()
	fmt.Printf("URL=%s\n", s.URL())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkStats100k counts 100,000 dead letters by tenant × class × code.
func BenchmarkStats100k(b *testing.B) {
	e := newEnv(b)
	e.seedBulk(b, benchN)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		st, err := e.store.Stats(context.Background(), deadletter.Filter{})
		require.NoError(b, err)
		require.Equal(b, benchN, st.Total)
		b.ReportMetric(float64(benchN)/time.Since(start).Seconds(), "dead-letters/s")
	}
}

// BenchmarkList100k lists 100,000 dead letters with bodies, filtered by
// class (so every header is read).
func BenchmarkList100k(b *testing.B) {
	e := newEnv(b)
	e.seedBulk(b, benchN)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := 0
		err := e.store.List(context.Background(), deadletter.Filter{Class: []deadletter.Class{deadletter.ClassRejected}}, func(*deadletter.DeadLetter) error { n++; return nil })
		require.NoError(b, err)
		require.Equal(b, (benchN+2)/3, n)
		b.ReportMetric(float64(benchN)/time.Since(start).Seconds(), "scanned/s")
	}
}
