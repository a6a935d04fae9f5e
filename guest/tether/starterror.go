package main

import (
	"errors"
	"fmt"
	"syscall"
)

// Docker's exit codes for a container that could not start.
const (
	codeStartFailed   = 125
	codeNotExecutable = 126
	codeNotFound      = 127
)

// startError is what the ERROR frame reports: Docker's wording and exit code.
type startError struct {
	message string
	code    int
}

func (e *startError) Error() string { return e.message }

func startFailed(format string, args ...interface{}) *startError {
	return &startError{message: fmt.Sprintf(format, args...), code: codeStartFailed}
}

// execFailure classifies an exec error the way Docker does from runc's message.
func execFailure(name string, err error) *startError {
	var errno syscall.Errno
	code := codeStartFailed
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT:
			code = codeNotFound
		case syscall.EACCES, syscall.EPERM, syscall.EISDIR:
			code = codeNotExecutable
		}
	}
	return &startError{message: fmt.Sprintf("exec: %q: %v", name, err), code: code}
}
