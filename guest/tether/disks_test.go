package main

import "testing"

func TestUnitSerial(t *testing.T) {
	page := append([]byte{0, 0x80, 0, 9}, []byte("sx-serial")...)
	if s, ok := unitSerial(page); !ok || s != "sx-serial" {
		t.Fatalf("got %q %v", s, ok)
	}
	padded := append([]byte{0, 0x80, 0, 4}, []byte("rw  ")...)
	if s, ok := unitSerial(padded); !ok || s != "rw" {
		t.Fatalf("got %q %v", s, ok)
	}
	for _, bad := range [][]byte{nil, {0, 0x83, 0, 0}, {0, 0x80, 0, 9, 'a'}} {
		if _, ok := unitSerial(bad); ok {
			t.Fatalf("accepted %v", bad)
		}
	}
}
