package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// On vSphere (docs/tether-protocol.md, "Replay after an engine restart") the log half of the serial
// line loses whatever the guest writes while no engine listens. The tether therefore keeps session 0's
// log — STARTED, its output with each stream's absolute byte offsets, its EXIT or ERROR — in a bounded
// journal, and sends from it: after every HELLO it sends nothing more on the log channel until the
// engine's RESUME says how much of each stream its log file already holds, then continues from there.
// The EXIT (or ERROR) is resent on each RESUME until the engine acknowledges it (EXIT_ACK).
const (
	// journalByteLimit bounds the output held for replay (both streams together); older output goes
	// first, and a GAP record takes its place in the engine's log.
	journalByteLimit = 8 << 20
	// journalChunkLimit bounds the bookkeeping of a process that writes a byte at a time.
	journalChunkLimit = 1 << 16
	// rehelloEvery: a HELLO whose RESUME never came (the engine left at that moment) is repeated.
	rehelloEvery = 10 * time.Second
)

// Streams of session 0, indexes into per-stream arrays.
const (
	streamStdout = 0
	streamStderr = 1
)

var streamNames = [2]string{"stdout", "stderr"}

// journalRecord is one log frame's content: its type (without the log flag), guest time, body.
type journalRecord struct {
	typ  byte
	time int64
	body []byte
}

type journalChunk struct {
	stream int
	offset int64 // the stream offset of data[0]
	time   int64
	data   []byte
}

// resumeRequest is RESUME's payload: what the engine's log holds of this boot.
type resumeRequest struct {
	Seq     uint32 `json:"seq"`
	Started bool   `json:"started"`
	Stdout  int64  `json:"stdout"`
	Stderr  int64  `json:"stderr"`
	Exited  bool   `json:"exited"`
}

// gapReply is GAP's body: bytes of a stream the journal no longer held when they were due.
type gapReply struct {
	Stream string `json:"stream"`
	Bytes  int64  `json:"bytes"`
}

// logJournal is the journal and what has been sent of it since the engine's last RESUME. Its methods
// are safe for concurrent use; next and hello are meant to be called with the line's write lock held
// (journalSender), so that nothing of the log follows a HELLO on the wire before the RESUME.
type logJournal struct {
	mu       sync.Mutex
	changed  *sync.Cond
	byteCap  int
	countCap int

	started *journalRecord
	final   *journalRecord
	chunks  []journalChunk // retained, oldest first
	bytes   int
	end     [2]int64 // each stream's length so far

	paused     bool
	seq        uint32 // of the latest HELLO
	helloAt    time.Time
	sendStart  bool     // STARTED is still to be sent
	sent       [2]int64 // each stream's offset up to which the engine has (or was sent) the bytes
	cursor     int      // chunks before it are sent entirely
	sendFinal  bool
	acked      bool
	ackWaiters []chan struct{}
}

func newLogJournal(byteCap, countCap int) *logJournal {
	j := &logJournal{byteCap: byteCap, countCap: countCap}
	j.changed = sync.NewCond(&j.mu)
	return j
}

// record takes one log frame of session 0 (what the log port would be sent).
func (j *logJournal) record(typ byte, time int64, body []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch typ {
	case typeStdout, typeStderr:
		stream := streamStdout
		if typ == typeStderr {
			stream = streamStderr
		}
		if len(body) == 0 {
			return
		}
		data := append([]byte(nil), body...)
		j.chunks = append(j.chunks, journalChunk{stream: stream, offset: j.end[stream], time: time, data: data})
		j.end[stream] += int64(len(data))
		j.bytes += len(data)
		for len(j.chunks) > 1 && (j.bytes > j.byteCap || len(j.chunks) > j.countCap) {
			j.bytes -= len(j.chunks[0].data)
			j.chunks[0] = journalChunk{}
			j.chunks = j.chunks[1:]
			if j.cursor > 0 {
				j.cursor--
			}
		}
	case typeStarted:
		if j.started == nil {
			j.started = &journalRecord{typ: typ, time: time, body: append([]byte(nil), body...)}
			j.sendStart = true
		}
	case typeExit, typeError:
		if j.final == nil {
			j.final = &journalRecord{typ: typ, time: time, body: append([]byte(nil), body...)}
			j.sendFinal = true
		}
	default:
		return
	}
	j.changed.Broadcast()
}

// hello marks a HELLO about to be sent: the log pauses until its RESUME. Returns its sequence number.
func (j *logJournal) hello(now time.Time) uint32 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	j.paused = true
	j.helloAt = now
	return j.seq
}

// resume applies a RESUME; one answering an older HELLO is ignored (the engine answers each).
func (j *logJournal) resume(r resumeRequest) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.Seq != j.seq {
		return
	}
	j.paused = false
	j.sendStart = j.started != nil && !r.Started
	j.sent = [2]int64{r.Stdout, r.Stderr}
	if !r.Started {
		j.sent = [2]int64{}
	}
	for s := range j.sent {
		if j.sent[s] > j.end[s] {
			j.sent[s] = j.end[s] // more than was written: not this boot's count; nothing to resend
		}
		if j.sent[s] < 0 {
			j.sent[s] = 0
		}
	}
	j.cursor = 0
	j.sendFinal = j.final != nil && !r.Exited
	if r.Exited {
		j.ackLocked()
	}
	j.changed.Broadcast()
}

// ack records EXIT_ACK: the engine holds the EXIT (or ERROR) durably.
func (j *logJournal) ack() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.final == nil {
		return
	}
	j.sendFinal = false
	j.ackLocked()
}

func (j *logJournal) ackLocked() {
	if j.acked {
		return
	}
	j.acked = true
	for _, w := range j.ackWaiters {
		close(w)
	}
	j.ackWaiters = nil
}

// acknowledged is closed once the engine acknowledged the final record.
func (j *logJournal) acknowledged() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	w := make(chan struct{})
	if j.acked {
		close(w)
	} else {
		j.ackWaiters = append(j.ackWaiters, w)
	}
	return w
}

// next takes the next record to send, if any (ok=false while paused or when all is sent): STARTED,
// then the output in the order it was written from where the engine's log ends (a GAP for what the
// journal no longer holds), then EXIT or ERROR.
func (j *logJournal) next() (journalRecord, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.nextLocked()
}

func (j *logJournal) nextLocked() (journalRecord, bool) {
	if j.paused {
		return journalRecord{}, false
	}
	if j.sendStart {
		j.sendStart = false
		return *j.started, true
	}
	for j.cursor < len(j.chunks) {
		c := j.chunks[j.cursor]
		s := c.stream
		if j.sent[s] < c.offset {
			return j.gapLocked(s, c.offset, c.time), true
		}
		j.cursor++
		chunkEnd := c.offset + int64(len(c.data))
		if chunkEnd <= j.sent[s] {
			continue
		}
		data := c.data[j.sent[s]-c.offset:]
		j.sent[s] = chunkEnd
		return journalRecord{typ: outputType(s), time: c.time, body: data}, true
	}
	// Output written but no longer held (and nothing after it is): the stream ends in a gap.
	for s := range j.sent {
		if j.sent[s] < j.end[s] {
			return j.gapLocked(s, j.end[s], time.Now().UnixNano()), true
		}
	}
	if j.sendFinal {
		j.sendFinal = false
		return *j.final, true
	}
	return journalRecord{}, false
}

func (j *logJournal) gapLocked(s int, to int64, at int64) journalRecord {
	body, _ := json.Marshal(gapReply{Stream: streamNames[s], Bytes: to - j.sent[s]})
	j.sent[s] = to
	return journalRecord{typ: typeGap, time: at, body: body}
}

func outputType(stream int) byte {
	if stream == streamStderr {
		return typeStderr
	}
	return typeStdout
}

// waitWork blocks until next may have something (or a HELLO is due again: rehello true).
func (j *logJournal) waitWork() (rehello bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.paused && !j.helloAt.IsZero() && time.Since(j.helloAt) >= rehelloEvery {
			return true
		}
		if !j.paused && (j.sendStart || j.cursor < len(j.chunks) || j.sendFinal || j.sent != j.end) {
			return false
		}
		j.changed.Wait()
	}
}

// journalSink is session 0's log on a journaled line: what launch and finishContainer send goes to
// the journal, and journalSender writes it out.
type journalSink struct {
	journal *logJournal
}

func (s *journalSink) send(typ byte, session uint32, body []byte) error {
	if session == 0 {
		s.journal.record(typ, time.Now().UnixNano(), body)
	}
	return nil
}

// journalSender writes the journal to the line's log half. Each record is picked with the line's
// write lock held, and HELLO is written under that lock too: once a HELLO is on the wire, no log
// frame follows until its RESUME came back.
func (t *tether) journalSender(line *port, journal *logJournal) {
	go func() {
		for {
			time.Sleep(rehelloEvery / 2)
			journal.mu.Lock()
			journal.changed.Broadcast() // lets waitWork see a HELLO that went unanswered
			journal.mu.Unlock()
		}
	}()
	for {
		if journal.waitWork() {
			t.sendHello()
			continue
		}
		line.mu.Lock()
		r, ok := journal.next()
		if ok {
			payload := make([]byte, 8+len(r.body))
			binary.BigEndian.PutUint64(payload[:8], uint64(r.time))
			copy(payload[8:], r.body)
			if err := line.writeLocked(r.typ|logFrameFlag, 0, payload); err != nil {
				fmt.Fprintf(os.Stderr, "tether: serial line: %v\n", err)
			}
		}
		line.mu.Unlock()
	}
}
