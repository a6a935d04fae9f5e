package main

import (
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000::/home/app:/bin/sh
broken:x:notanumber:1::/:/bin/sh
`

const testGroup = `root:x:0:
wheel:x:10:root,app
app:x:1000:
audio:x:29:app
`

func TestResolveUser(t *testing.T) {
	passwd := parsePasswd(strings.NewReader(testPasswd))
	groups := parseGroup(strings.NewReader(testGroup))
	cases := []struct {
		spec string
		want identity
	}{
		{"", identity{uid: 0, gid: 0, groups: []uint32{10}, home: "/root"}},
		{"app", identity{uid: 1000, gid: 1000, groups: []uint32{10, 29}, home: "/home/app"}},
		{"1000", identity{uid: 1000, gid: 1000, groups: []uint32{10, 29}, home: "/home/app"}},
		{"4242", identity{uid: 4242, gid: 0, home: "/"}},
		{"4242:7", identity{uid: 4242, gid: 7, home: "/"}},
		{"app:audio", identity{uid: 1000, gid: 29, home: "/home/app"}},
		{"daemon:0", identity{uid: 1, gid: 0, home: "/usr/sbin"}},
	}
	for _, c := range cases {
		got, err := resolveUser(c.spec, passwd, groups)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%q: got %+v want %+v", c.spec, got, c.want)
		}
	}
}

func TestResolveUserUnknown(t *testing.T) {
	passwd := parsePasswd(strings.NewReader(testPasswd))
	_, err := resolveUser("nobody", passwd, nil)
	if err == nil || err.Error() != "unable to find user nobody: no matching entries in passwd file" {
		t.Fatalf("got %v", err)
	}
	_, err = resolveUser("app:nogroup", passwd, nil)
	if err == nil || err.Error() != "unable to find group nogroup: no matching entries in group file" {
		t.Fatalf("got %v", err)
	}
}
