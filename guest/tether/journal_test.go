package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// drain takes what the journal would send now, as "type:body" strings (GAP bodies decoded).
func drain(t *testing.T, j *logJournal) []string {
	t.Helper()
	var out []string
	for i := 0; i < 1000; i++ {
		r, ok := j.next()
		if !ok {
			return out
		}
		switch r.typ {
		case typeStdout:
			out = append(out, "out:"+string(r.body))
		case typeStderr:
			out = append(out, "err:"+string(r.body))
		case typeStarted:
			out = append(out, "started")
		case typeExit:
			out = append(out, "exit:"+string(r.body))
		case typeGap:
			var g gapReply
			if err := json.Unmarshal(r.body, &g); err != nil {
				t.Fatal(err)
			}
			out = append(out, "gap:"+g.Stream+":"+itoa(g.Bytes))
		default:
			t.Fatalf("unexpected type 0x%02x", r.typ)
		}
	}
	t.Fatal("the journal never ran dry")
	return nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func connected(j *logJournal) {
	seq := j.hello(time.Now())
	j.resume(resumeRequest{Seq: seq, Started: false})
}

func TestJournalSendsLiveThenPausesAtHelloAndReplaysFromTheEnginesCounts(t *testing.T) {
	j := newLogJournal(1<<20, 100)
	connected(j)
	j.record(typeStarted, 1, []byte(`{"pid":5}`))
	j.record(typeStdout, 2, []byte("one\n"))
	j.record(typeStderr, 3, []byte("e1\n"))
	if got := strings.Join(drain(t, j), "|"); got != "started|out:one\n|err:e1\n" {
		t.Fatalf("live: %q", got)
	}
	// The engine goes away; what follows is written into the void.
	j.record(typeStdout, 4, []byte("two\nthree\n"))
	j.record(typeStderr, 5, []byte("e2\n"))
	drain(t, j)
	// A new engine: HELLO pauses the log until RESUME.
	seq := j.hello(time.Now())
	j.record(typeStdout, 6, []byte("four\n"))
	if got := drain(t, j); len(got) != 0 {
		t.Fatalf("sent while paused: %q", got)
	}
	// A RESUME for an older HELLO is not this one's.
	j.resume(resumeRequest{Seq: seq - 1, Started: true, Stdout: 0})
	if got := drain(t, j); len(got) != 0 {
		t.Fatalf("stale RESUME honoured: %q", got)
	}
	// Its log holds "one\ntw" of stdout (a torn frame cut at start-up counts what it kept) and e1.
	j.resume(resumeRequest{Seq: seq, Started: true, Stdout: 6, Stderr: 3})
	if got := strings.Join(drain(t, j), "|"); got != "out:o\nthree\n|err:e2\n|out:four\n" {
		t.Fatalf("replay: %q", got)
	}
}

func TestJournalResendsStartedWhenTheLogLacksIt(t *testing.T) {
	j := newLogJournal(1<<20, 100)
	j.record(typeStarted, 1, []byte(`{"pid":5}`))
	j.record(typeStdout, 2, []byte("a"))
	seq := j.hello(time.Now())
	j.resume(resumeRequest{Seq: seq, Started: false, Stdout: 1})
	if got := strings.Join(drain(t, j), "|"); got != "started|out:a" {
		t.Fatalf("%q", got)
	}
}

func TestJournalOverflowLeavesAGapNotSilence(t *testing.T) {
	j := newLogJournal(8, 100)
	connected(j)
	drain(t, j)
	j.hello(time.Now()) // paused: nothing leaves while the journal overflows
	for _, s := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
		j.record(typeStdout, 1, []byte(s))
	}
	j.record(typeStderr, 1, []byte("x"))
	j.resume(resumeRequest{Seq: j.seq, Started: true, Stdout: 2})
	// 8 bytes are held: "dddd" and "x" ("cccc" went when "x" came).
	if got := strings.Join(drain(t, j), "|"); got != "gap:stdout:10|out:dddd|err:x" {
		t.Fatalf("%q", got)
	}
	// Everything of stdout gone but its tail: the GAP runs to the stream's end.
	j.hello(time.Now())
	for _, s := range []string{"eeee", "ffff", "gggggggg"} {
		j.record(typeStderr, 1, []byte(s))
	}
	j.resume(resumeRequest{Seq: j.seq, Started: true, Stdout: 10, Stderr: 1})
	if got := strings.Join(drain(t, j), "|"); got != "gap:stderr:8|err:gggggggg|gap:stdout:6" {
		t.Fatalf("%q", got)
	}
}

func TestJournalHoldsTheExitUntilAcknowledged(t *testing.T) {
	j := newLogJournal(1<<20, 100)
	connected(j)
	j.record(typeStarted, 1, []byte(`{}`))
	j.record(typeStdout, 2, []byte("bye\n"))
	j.record(typeExit, 3, []byte(`{"code":7}`))
	acked := j.acknowledged()
	if got := strings.Join(drain(t, j), "|"); got != `started|out:bye
|exit:{"code":7}` {
		t.Fatalf("%q", got)
	}
	// Lost with the engine: the next RESUME without it sends it again, after the missing output.
	seq := j.hello(time.Now())
	j.resume(resumeRequest{Seq: seq, Started: true, Stdout: 0})
	if got := strings.Join(drain(t, j), "|"); got != `out:bye
|exit:{"code":7}` {
		t.Fatalf("%q", got)
	}
	select {
	case <-acked:
		t.Fatal("acknowledged without EXIT_ACK")
	default:
	}
	j.ack()
	<-acked
	// An engine whose log has the exit says so in RESUME: nothing more is sent, and that is an ack too.
	k := newLogJournal(1<<20, 100)
	k.record(typeStarted, 1, []byte(`{}`))
	k.record(typeExit, 3, []byte(`{"code":0}`))
	seq = k.hello(time.Now())
	k.resume(resumeRequest{Seq: seq, Started: true, Exited: true})
	if got := drain(t, k); len(got) != 0 {
		t.Fatalf("%q", got)
	}
	<-k.acknowledged()
}
