package deadletter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gentrack/gcis-bridge/bridge/deadletter"
)

// FuzzWriterParseRoundTrip: what the writer stores, Parse reads back, and
// the replay message carries none of the dead-letter headers.
func FuzzWriterParseRoundTrip(f *testing.F) {
	f.Add("gcis.events.acme.junifer.bill-accepted", "rejected", "Account closed\r\nrule X", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "acme", 400, 3, uint64(42), []byte(`{"eventId":"e1"}`))
	f.Add("gcis.events", "invalid", "", "", "", 0, 0, uint64(1), []byte("not json"))
	f.Add("x.y", "exhausted", strings.Repeat("é", 900), "", "c", 503, 10, uint64(1<<60), []byte(`{"eventId":42}`))
	now := time.Date(2025, 3, 4, 9, 15, 22, 0, time.UTC)
	w, err := deadletter.NewWriter(nil, deadletter.WriterConfig{Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, class, reason, code, connector string, status, attempts int, seq uint64, body []byte) {
		info := deadletter.Info{Class: deadletter.Class(class), Reason: reason, ErrorCode: code, HTTPStatus: status, Attempts: attempts, Connector: connector}
		orig := deadletter.Original{Subject: subject, Stream: "GCIS_EVENTS", Sequence: seq, Data: body,
			Header: nats.Header{"Nats-Msg-Id": {"x"}, "Gcis-Dlq-Class": {"bogus"}, "X-Keep": {"k"}}}
		msg, err := w.Message(orig, info)
		if !info.Class.Valid() || seq == 0 || subject == "" || strings.ContainsFunc(subject, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			if err == nil {
				t.Fatalf("accepted class %q seq %d", class, seq)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		d := deadletter.Parse("gcis.dlq", msg.Subject, 7, now, msg.Header, msg.Data)
		if d.Class != info.Class || d.Reason != deadletter.FoldReason(reason) || d.ErrorCode != deadletter.FoldReason(code) ||
			d.Connector != deadletter.FoldReason(connector) || d.OriginalSubject != subject || d.OriginalSequence != seq ||
			!d.DeadLetteredAt.Equal(now) || d.Header.Get("X-Keep") != "k" || string(d.Data) != string(body) {
			t.Fatalf("round trip lost information: %+v", d)
		}
		if attempts >= 0 && d.Attempts != attempts {
			t.Fatalf("attempts %d -> %d", attempts, d.Attempts)
		}
		if status > 0 && status <= 999 && d.HTTPStatus != status {
			t.Fatalf("status %d -> %d", status, d.HTTPStatus)
		}
		if strings.Count(msg.Subject, ".") != 4 {
			t.Fatalf("dead-letter subject %q is not 5 tokens", msg.Subject)
		}
		r := d.ReplayMessage()
		if r.Subject != subject {
			t.Fatalf("replay subject %q", r.Subject)
		}
		for k := range r.Header {
			if strings.HasPrefix(k, "Gcis-Dlq-") || strings.HasPrefix(k, "Gcis-Original-") {
				t.Fatalf("replay keeps %s", k)
			}
		}
		if id := r.Header.Get("Nats-Msg-Id"); !strings.HasSuffix(id, "replay-7") || strings.ContainsAny(id, " \r\n") {
			t.Fatalf("replay msg id %q", id)
		}
	})
}

// FuzzParse: any stored headers parse without panicking.
func FuzzParse(f *testing.F) {
	f.Add("gcis.dlq.a.b.c", "rejected", "12", "400", "2025-03-04T09:15:22Z", []byte("{}"))
	f.Add("gcis.dlq", "", "-1", "99999999999999999999", "yesterday", []byte(nil))
	f.Fuzz(func(t *testing.T, subject, class, attempts, status, at string, body []byte) {
		h := nats.Header{"Gcis-Dlq-Class": {class}, "Gcis-Dlq-Attempts": {attempts}, "Gcis-Dlq-Http-Status": {status}, "Gcis-Dlq-Time": {at}}
		d := deadletter.Parse("gcis.dlq", subject, 1, time.Now(), h, body)
		if d.Attempts < 0 || d.HTTPStatus < 0 || d.HTTPStatus > 999 {
			t.Fatalf("out of range: %+v", d)
		}
		_ = d.View(true)
		_ = d.ReplayMsgID()
	})
}
