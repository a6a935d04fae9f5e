package main

import (
	"bytes"
	"testing"
)

func TestFrameRoundTripSplitAnywhere(t *testing.T) {
	stream := append(encodeFrame(typeStdin, 7, []byte("hello")), encodeFrame(typeHelloReq, 0, nil)...)
	for split := 0; split <= len(stream); split++ {
		var d frameDecoder
		var got []frame
		for _, part := range [][]byte{stream[:split], stream[split:]} {
			d.push(part)
			for {
				f, ok, err := d.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, f)
			}
		}
		if len(got) != 2 || got[0].typ != typeStdin || got[0].session != 7 || !bytes.Equal(got[0].payload, []byte("hello")) ||
			got[1].typ != typeHelloReq || len(got[1].payload) != 0 {
			t.Fatalf("split %d: got %+v", split, got)
		}
	}
}

func TestFrameOversizeIsRejected(t *testing.T) {
	var d frameDecoder
	d.push([]byte{typeStdin, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	if _, _, err := d.next(); err == nil {
		t.Fatal("expected an error for an oversized frame")
	}
	if len(d.buf) != 0 {
		t.Fatal("decoder kept corrupt bytes")
	}
}

func TestNextResyncSkipsBytesThatStartNoFrame(t *testing.T) {
	var d frameDecoder
	// The tail of a HELLO_REQ cut by a FIFO flush, then a whole CONFIG.
	d.push([]byte{0, 0, 0})
	d.push(encodeFrame(typeConfig, 0, []byte(`{"id":"x"}`)))
	f, ok, skipped := d.nextResync(hostFrameType)
	if !ok || f.typ != typeConfig || string(f.payload) != `{"id":"x"}` || skipped != 3 {
		t.Fatalf("got %+v ok=%v skipped=%d", f, ok, skipped)
	}
}
