package main

// `tether files …`: one file operation of `docker cp`, in a process of its own chrooted into the
// container's root, so the kernel keeps every path inside it even while the container's processes
// rename and relink things underneath. The tether runs it inside the guest (transfer.go); the engine
// runs the same binary on the host for a stopped container's mounted filesystem.
//
//	tether files stat -root R -path P         stdout: the pathStat JSON
//	tether files get  -root R -path P         stdout: the pathStat JSON, "\n", then the tar
//	tether files put  -root R -path P [-no-overwrite-dir-non-dir] [-chown-user SPEC]   stdin: a tar
//
// A failure exits 1 with a fileError JSON on stderr.

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
)

const filesCommand = "files"

func runFilesHelper(args []string) int {
	if len(args) < 1 {
		return failFiles(&fileError{Kind: "InvalidParameter", Message: "usage: tether files stat|get|put -root DIR -path PATH"})
	}
	op := args[0]
	fs := flag.NewFlagSet(op, flag.ContinueOnError)
	root := fs.String("root", "/", "the container's root directory")
	p := fs.String("path", "", "path inside the container")
	noOverwrite := fs.Bool("no-overwrite-dir-non-dir", false, "refuse to replace a directory with a non-directory or the reverse")
	chownUser := fs.String("chown-user", "", "give extracted files this user's uid and gid (user[:group])")
	if err := fs.Parse(args[1:]); err != nil {
		return failFiles(&fileError{Kind: "InvalidParameter", Message: err.Error()})
	}
	if err := syscall.Chroot(*root); err != nil {
		return failFiles(&fileError{Kind: "System", Message: fmt.Sprintf("chroot %s: %v", *root, err)})
	}
	if err := os.Chdir("/"); err != nil {
		return failFiles(&fileError{Kind: "System", Message: err.Error()})
	}
	var err error
	switch op {
	case "stat":
		var st pathStat
		if st, _, err = statPath("", *p); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(st)
		}
	case "get":
		err = getFiles(*p)
	case "put":
		opts := extractOptions{noOverwriteDirNonDir: *noOverwrite}
		if *chownUser != "" {
			who, uerr := resolveUserInRoot("", *chownUser)
			if uerr != nil {
				return failFiles(&fileError{Kind: "InvalidParameter", Message: uerr.Error()})
			}
			opts.chown = &who
		}
		err = extractArchive("", *p, bufio.NewReaderSize(os.Stdin, 64*1024), opts)
	default:
		err = &fileError{Kind: "InvalidParameter", Message: "unknown files operation " + op}
	}
	if err != nil {
		return failFiles(classify(*p, err))
	}
	return 0
}

func getFiles(p string) error {
	st, host, err := statPath("", p)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 64*1024)
	header, _ := json.Marshal(st)
	out.Write(append(header, '\n'))
	if err := writeArchive(host, st, out); err != nil {
		return err
	}
	return out.Flush()
}

func failFiles(err error) int {
	fe, ok := err.(*fileError)
	if !ok {
		fe = &fileError{Kind: "System", Message: err.Error()}
	}
	json.NewEncoder(os.Stderr).Encode(fe)
	return 1
}
