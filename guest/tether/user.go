package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

type passwdEntry struct {
	name string
	uid  int
	gid  int
	home string
}

type groupEntry struct {
	name    string
	gid     int
	members []string
}

// identity is who the process runs as.
type identity struct {
	uid    uint32
	gid    uint32
	groups []uint32
	home   string
}

func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	for _, f := range colonRecords(r) {
		if len(f) < 6 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	}
	return out
}

func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	for _, f := range colonRecords(r) {
		if len(f) < 3 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		var members []string
		if len(f) > 3 && f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, groupEntry{name: f[0], gid: gid, members: members})
	}
	return out
}

func colonRecords(r io.Reader) [][]string {
	var out [][]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

// resolveUser follows Docker/runc: "" is root; "name" or "uid", optionally ":group" or ":gid".
// A numeric uid need not exist in passwd (gid defaults to 0); a name must. Supplementary groups come
// from /etc/group membership, only when no group was given explicitly.
func resolveUser(spec string, passwd []passwdEntry, groups []groupEntry) (identity, error) {
	userPart, groupPart := spec, ""
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		userPart, groupPart = spec[:i], spec[i+1:]
	}
	if userPart == "" {
		userPart = "0"
	}
	id := identity{home: "/"}
	var matched *passwdEntry
	uid, numeric := parseID(userPart)
	for i := range passwd {
		if passwd[i].name == userPart || (numeric && passwd[i].uid == uid) {
			matched = &passwd[i]
			break
		}
	}
	switch {
	case matched != nil:
		id.uid, id.gid, id.home = uint32(matched.uid), uint32(matched.gid), matched.home
	case numeric:
		id.uid = uint32(uid)
	default:
		return identity{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
	}
	if groupPart != "" {
		gid, numericGroup := parseID(groupPart)
		found := numericGroup
		for _, g := range groups {
			if g.name == groupPart {
				gid, found = g.gid, true
				break
			}
		}
		if !found {
			return identity{}, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
		}
		id.gid = uint32(gid)
		return id, nil
	}
	if matched != nil {
		for _, g := range groups {
			for _, m := range g.members {
				if m == matched.name {
					id.groups = append(id.groups, uint32(g.gid))
					break
				}
			}
		}
	}
	return id, nil
}

func parseID(s string) (int, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// resolveUserInRoot reads the container's own /etc/passwd and /etc/group.
func resolveUserInRoot(root, spec string) (identity, error) {
	var passwd []passwdEntry
	var groups []groupEntry
	if p, err := resolveInRoot(root, "/etc/passwd"); err == nil {
		if f, err := os.Open(p); err == nil {
			passwd = parsePasswd(f)
			f.Close()
		}
	}
	if p, err := resolveInRoot(root, "/etc/group"); err == nil {
		if f, err := os.Open(p); err == nil {
			groups = parseGroup(f)
			f.Close()
		}
	}
	return resolveUser(spec, passwd, groups)
}

// resolveGroups turns GroupAdd entries (group names or numeric gids) into gids, as runc does: a
// number need not exist in /etc/group, a name must.
func resolveGroups(names []string, groups []groupEntry) ([]uint32, error) {
	var gids []uint32
	for _, name := range names {
		if gid, numeric := parseID(name); numeric {
			gids = append(gids, uint32(gid))
			continue
		}
		found := false
		for _, g := range groups {
			if g.name == name {
				gids = append(gids, uint32(g.gid))
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unable to find group %s: no matching entries in group file", name)
		}
	}
	return gids, nil
}

// resolveGroupsInRoot resolves GroupAdd against the container's own /etc/group.
func resolveGroupsInRoot(root string, names []string) ([]uint32, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var groups []groupEntry
	if p, err := resolveInRoot(root, "/etc/group"); err == nil {
		if f, err := os.Open(p); err == nil {
			groups = parseGroup(f)
			f.Close()
		}
	}
	return resolveGroups(names, groups)
}
