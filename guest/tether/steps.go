package main

import (
	"fmt"
	"strings"
	"time"
)

// stepTimer names the steps of a container's start with the milliseconds each took, for the host's
// per-phase timings (STARTED's "steps"). A nil timer records nothing.
type stepTimer struct {
	last  time.Time
	steps []string
}

func newStepTimer() *stepTimer {
	return &stepTimer{last: time.Now()}
}

func (s *stepTimer) mark(name string) {
	if s == nil {
		return
	}
	now := time.Now()
	s.steps = append(s.steps, fmt.Sprintf("%s %d", name, now.Sub(s.last).Milliseconds()))
	s.last = now
}

func (s *stepTimer) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.steps, ",")
}
