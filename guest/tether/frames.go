package main

import (
	"encoding/binary"
	"fmt"
)

// Frame layout (docs/tether-protocol.md): u8 type | u32 session | u32 length | payload.
const (
	frameHeaderSize = 9
	maxFramePayload = 1 << 20
)

// Host → guest frame types.
const (
	typeHelloReq   byte = 0x10
	typeConfig     byte = 0x11
	typeStdin      byte = 0x12
	typeStdinClose byte = 0x13
	typeSignal     byte = 0x14
	typeResize     byte = 0x15
	typeExec       byte = 0x16
	typePowerOff   byte = 0x17
	typeHosts      byte = 0x18
	// File requests (transfer.go).
	typeTop        byte = 0x19
	typeStat       byte = 0x1a
	typeArchiveGet byte = 0x1b
	typeArchivePut byte = 0x1c
	typeHostData   byte = 0x1d
	typeHostCredit byte = 0x1e
	typeCancel     byte = 0x1f
	// The host's wall clock after the VM was paused (CLOCK).
	typeClock byte = 0x20
	// NET_ATTACH / NET_DETACH: a running container joins or leaves a network (its NIC was hot-plugged
	// on the host); answered with RESULT or ERROR.
	typeNetAttach byte = 0x21
	typeNetDetach byte = 0x22
	typeWarm      byte = 0x23
	// USAGE: the guest's CPU times and memory in use (usage.go), answered with RESULT or ERROR.
	typeUsage byte = 0x24
	// Replay after an engine restart on the serial line (journal.go): where the engine's log stands,
	// and that it holds the EXIT (or ERROR) durably.
	typeResume  byte = 0x28
	typeExitAck byte = 0x29
)

// Guest → host frame types.
const (
	typeHello   byte = 0x01
	typeStarted byte = 0x02
	typeStdout  byte = 0x03
	typeStderr  byte = 0x04
	typeExit    byte = 0x05
	typeError   byte = 0x06
	typeDiag    byte = 0x07
	typeResult  byte = 0x08
	typeData    byte = 0x09
	typeCredit  byte = 0x0a
	// GAP (log only, serial line): output the journal no longer held when it was due.
	typeGap byte = 0x0e
	// LEASE: the public network's address changed (public_network.go).
	typeLease byte = 0x0b
)

type frame struct {
	typ     byte
	session uint32
	payload []byte
}

func encodeFrame(typ byte, session uint32, payload []byte) []byte {
	out := make([]byte, frameHeaderSize+len(payload))
	out[0] = typ
	binary.BigEndian.PutUint32(out[1:5], session)
	binary.BigEndian.PutUint32(out[5:9], uint32(len(payload)))
	copy(out[frameHeaderSize:], payload)
	return out
}

// frameDecoder turns a byte stream into frames; bytes may arrive split anywhere.
type frameDecoder struct {
	buf []byte
}

func (d *frameDecoder) push(b []byte) {
	d.buf = append(d.buf, b...)
}

// next returns the next complete frame, or ok=false when more bytes are needed. An oversized
// length means the stream is corrupt: the buffer is dropped and an error returned.
func (d *frameDecoder) next() (f frame, ok bool, err error) {
	if len(d.buf) < frameHeaderSize {
		return frame{}, false, nil
	}
	length := binary.BigEndian.Uint32(d.buf[5:9])
	if length > maxFramePayload {
		d.reset()
		return frame{}, false, fmt.Errorf("frame length %d exceeds %d", length, maxFramePayload)
	}
	total := frameHeaderSize + int(length)
	if len(d.buf) < total {
		return frame{}, false, nil
	}
	f = frame{
		typ:     d.buf[0],
		session: binary.BigEndian.Uint32(d.buf[1:5]),
		payload: append([]byte(nil), d.buf[frameHeaderSize:total]...),
	}
	d.buf = d.buf[total:]
	if len(d.buf) == 0 {
		d.buf = nil
	}
	return f, true, nil
}

// nextResync is next for a line that can lose bytes (a serial port drops what reached its FIFO before
// the port was opened, cutting a frame anywhere): a header whose type is not valid, or whose length is
// too large, is taken as misalignment and skipped one byte at a time until a plausible header starts.
func (d *frameDecoder) nextResync(valid func(byte) bool) (f frame, ok bool, skipped int) {
	for len(d.buf) >= frameHeaderSize {
		if valid(d.buf[0]) && binary.BigEndian.Uint32(d.buf[5:9]) <= maxFramePayload {
			f, ok, _ = d.next()
			return f, ok, skipped
		}
		d.buf = d.buf[1:]
		skipped++
	}
	return frame{}, false, skipped
}

// hostFrameType reports whether typ is a host → guest frame type.
func hostFrameType(typ byte) bool {
	return typ >= typeHelloReq && typ <= typeUsage || typ == typeResume || typ == typeExitAck
}

// reset forgets a partial frame, e.g. when the host that was sending it disconnected.
func (d *frameDecoder) reset() {
	d.buf = nil
}
