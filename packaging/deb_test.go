package packaging_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
)

// realInstall says whether the tests may install the package into this
// machine with dpkg -i: only on a CI machine (CI=true), as root. Elsewhere
// the package is unpacked into a scratch root with dpkg-deb -x.
func realInstall() bool { return os.Getenv("CI") == "true" && os.Geteuid() == 0 }

// installation is the package's files, either installed for real (root "/")
// or unpacked into a scratch directory.
type installation struct {
	root string
	real bool
}

func (in *installation) path(p string) string { return filepath.Join(in.root, p) }

// unpack extracts .deb files into a fresh scratch root ("" names are
// skipped: the organizer package before it existed).
func unpack(t *testing.T, debs ...string) *installation {
	t.Helper()
	root := scratchDir(t)
	for _, deb := range debs {
		if deb != "" {
			run(t, "dpkg-deb", "-x", deb, root)
		}
	}
	return &installation{root: root}
}

// execStart builds the command the unit's ExecStart line runs, with conf in
// place of the config file when it is not "". In a scratch root, the paths
// on the line are taken from the root, and the data directory and log file
// of the config file are moved into the root with CLAPSHOT_* environment
// variables (which the server prefers to the file). A real installation
// runs as the unit's User=. The port always comes from CLAPSHOT_PORT, so
// that tests never collide with anything on 8095.
func (in *installation) execStart(t *testing.T, conf string, port int) *exec.Cmd {
	t.Helper()
	unit := parseUnit(t, in.path(unitPath))
	args := strings.Fields(unit.one(t, "Service", "ExecStart"))
	confFile := ""
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			args[i] = in.path(a)
		}
		if i > 0 && args[i-1] == "--config" {
			if conf != "" {
				args[i] = conf
			}
			confFile = args[i]
		}
	}
	if confFile == "" {
		t.Fatalf("ExecStart has no --config: %v", args)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CLAPSHOT_PORT=" + strconv.Itoa(port)}
	if in.real {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credentialFor(t, unit.one(t, "Service", "User"))}
		return cmd
	}
	// What postinst would create: the data directory's parent and the log.
	if dd := confValue(t, confFile, "data-dir"); dd != "" {
		os.MkdirAll(filepath.Dir(in.path(dd)), 0o755)
		cmd.Env = append(cmd.Env, "CLAPSHOT_DATA_DIR="+in.path(dd))
	}
	if lf := confValue(t, confFile, "log"); lf != "" {
		os.MkdirAll(filepath.Dir(in.path(lf)), 0o755)
		cmd.Env = append(cmd.Env, "CLAPSHOT_LOG="+in.path(lf))
	}
	if oc := confValue(t, confFile, "org-cmd"); strings.HasPrefix(oc, "/") && exists(in.path(oc)) {
		cmd.Env = append(cmd.Env, "CLAPSHOT_ORG_CMD="+in.path(oc))
	}
	return cmd
}

func TestDebPackageContents(t *testing.T) {
	d := buildDebs(t)
	fields := run(t, "dpkg-deb", "-f", d.server, "Package", "Version", "Depends")
	for _, want := range []string{"Package: clapshot-server", "Version: 1:" + d.version + "\n", "Depends: ffmpeg"} {
		if !strings.Contains(fields+"\n", want) {
			t.Errorf("control fields lack %q:\n%s", want, fields)
		}
	}

	ctrl := scratchDir(t)
	run(t, "dpkg-deb", "-e", d.server, ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(conffiles))
	slices.Sort(got)
	if want := []string{"/etc/clapshot-server.conf", "/etc/logrotate.d/clapshot-server"}; !slices.Equal(got, want) {
		t.Errorf("conffiles = %v, want %v", got, want)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		run(t, "sh", "-n", filepath.Join(ctrl, s))
	}

	list := run(t, "dpkg-deb", "-c", d.server)
	for _, p := range []string{
		"./usr/bin/clapshot-server", "./etc/clapshot-server.conf", "." + unitPath, "." + failUnitPath,
		"./usr/bin/clapshot-worker", "." + workerUnitPath,
		"./etc/logrotate.d/clapshot-server",
		"./usr/share/doc/clapshot-server/deployment.md",
		"./usr/share/doc/clapshot-server/examples/clapshot-server.conf",
		"./usr/share/doc/clapshot-server/examples/clapshot.nginx.conf",
		"./usr/share/doc/clapshot-server/examples/clapshot+basic-auth.nginx.conf",
		"./usr/share/doc/clapshot-server/examples/single-sign-on.md",
	} {
		if !strings.Contains(list, " "+p+"\n") {
			t.Errorf("package lacks %s", p)
		}
	}

	if _, err := os.Stat(filepath.Join(repoRoot(t), "cmd/clapshot-organizer-folders")); err == nil {
		if d.organizer == "" {
			t.Fatal("cmd/clapshot-organizer-folders exists but make deb built no clapshot-organizer-folders package")
		}
		fields := run(t, "dpkg-deb", "-f", d.organizer, "Depends", "Provides", "Conflicts", "Replaces")
		for _, want := range []string{"Depends: clapshot-server", "Provides: clapshot-organizer-basic-folders",
			"Conflicts: clapshot-organizer-basic-folders", "Replaces: clapshot-organizer-basic-folders"} {
			if !strings.Contains(fields, want) {
				t.Errorf("organizer control fields lack %q:\n%s", want, fields)
			}
		}
		list := run(t, "dpkg-deb", "-c", d.organizer)
		for _, want := range []string{" ./usr/bin/clapshot-organizer-folders\n",
			" ./usr/bin/clapshot-organizer-basic-folders -> clapshot-organizer-folders\n"} {
			if !strings.Contains(list, want) {
				t.Errorf("organizer package lacks %q:\n%s", want, list)
			}
		}
	}
}

// The unit is valid for systemd and has the properties the deployment
// relies on.
func TestDebSystemdUnit(t *testing.T) {
	in := unpack(t, buildDebs(t).server)
	unit := parseUnit(t, in.path(unitPath))
	svc := func(k string) string { return unit.one(t, "Service", k) }

	if got := svc("ExecStart"); got != "/usr/bin/clapshot-server --config /etc/clapshot-server.conf" {
		t.Errorf("ExecStart = %q: must start the binary directly with the config file", got)
	}
	for k, want := range map[string]string{
		"User": serviceUser, "Restart": "on-failure", "RestartPreventExitStatus": "2",
		"ExecReload": "/bin/kill -USR1 $MAINPID", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"PrivateTmp": "yes", "KillMode": "mixed",
	} {
		if got := svc(k); got != want {
			t.Errorf("[Service] %s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]string{"StartLimitBurst": "5", "OnFailure": "clapshot-server-failed.service"} {
		if got := unit.one(t, "Unit", k); got != want {
			t.Errorf("[Unit] %s = %q, want %q", k, got, want)
		}
	}
	// The data directory of the shipped config file must be writable.
	dataDir := confValue(t, in.path(confPath), "data-dir")
	if !slices.Contains(unit["Service"]["ReadWritePaths"], "-"+dataDir) {
		t.Errorf("ReadWritePaths %q does not include the config's data-dir %s", unit["Service"]["ReadWritePaths"], dataDir)
	}
	logDir := filepath.Dir(confValue(t, in.path(confPath), "log"))
	if !slices.Contains(unit["Service"]["ReadWritePaths"], logDir) {
		t.Errorf("ReadWritePaths %q does not include the log file's directory %s", unit["Service"]["ReadWritePaths"], logDir)
	}
	// The logrotate file names the log file of the config file.
	rot, err := os.ReadFile(in.path("/etc/logrotate.d/clapshot-server"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(rot), confValue(t, in.path(confPath), "log")+"\n") ||
		!strings.Contains(string(rot), "for unit in clapshot-server.service clapshot-worker.service; do") ||
		!strings.Contains(string(rot), `systemctl reload "$unit"`) {
		t.Errorf("logrotate config does not rotate the configured log and reload the service:\n%s", rot)
	}

	// The worker's unit: the same config file and hardening, its own binary.
	worker := parseUnit(t, in.path(workerUnitPath))
	if got := worker.one(t, "Service", "ExecStart"); got != "/usr/bin/clapshot-worker --config /etc/clapshot-server.conf" {
		t.Errorf("worker ExecStart = %q", got)
	}
	for _, k := range []string{"User", "Restart", "RestartPreventExitStatus", "ExecReload", "ProtectSystem", "NoNewPrivileges", "PrivateTmp", "KillMode", "UMask"} {
		if got, want := worker.one(t, "Service", k), svc(k); got != want {
			t.Errorf("worker [Service] %s = %q, the server's is %q", k, got, want)
		}
	}
	if !slices.Equal(worker["Service"]["ReadWritePaths"], unit["Service"]["ReadWritePaths"]) {
		t.Errorf("worker ReadWritePaths %q differ from the server's %q", worker["Service"]["ReadWritePaths"], unit["Service"]["ReadWritePaths"])
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified")
		return
	}
	// systemd-analyze checks that ExecStart exists, so verify copies whose
	// binary path points into the scratch root; nothing else changes.
	dir := scratchDir(t)
	for _, u := range []string{unitPath, failUnitPath, workerUnitPath} {
		b, err := os.ReadFile(in.path(u))
		if err != nil {
			t.Fatal(err)
		}
		for _, bin := range []string{"/usr/bin/clapshot-server", "/usr/bin/clapshot-worker"} {
			b = []byte(strings.ReplaceAll(string(b), bin, in.path(bin)))
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(u)), b, 0o644)
	}
	out, err := exec.Command(sa, "verify", "--man=no",
		filepath.Join(dir, "clapshot-server.service"), filepath.Join(dir, "clapshot-server-failed.service"),
		filepath.Join(dir, "clapshot-worker.service")).CombinedOutput()
	// verify exits 0 on unknown keys and bad values; it only prints them.
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The installed binary, run as ExecStart does with the installed config,
// answers /api/health, writes its log file and reopens it on ExecReload's
// signal. On a CI machine the package is installed, removed and purged for
// real, and what remains is checked.
func TestDebInstallRunRemove(t *testing.T) {
	d := buildDebs(t)
	var in *installation
	if realInstall() {
		in = dpkgInstall(t, d.server, d.organizer)
	} else {
		in = unpack(t, d.server, d.organizer)
	}
	dataDir := in.path(confValue(t, in.path(confPath), "data-dir"))
	logFile := in.path(confValue(t, in.path(confPath), "log"))
	if in.real {
		if got := ownerOf(t, dataDir); got != serviceUser {
			t.Errorf("postinst: data dir %s belongs to %s, want %s", dataDir, got, serviceUser)
		}
		if got := ownerOf(t, logFile); got != serviceUser {
			t.Errorf("postinst: log file %s belongs to %s, want %s", logFile, got, serviceUser)
		}
	}

	port := testkit.MustFreePort(t)
	srv := startProcess(t, in.execStart(t, "", port))
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/api/health", port), srv)
	if d.organizer != "" {
		// The shipped config's org-cmd starts the packaged organizer.
		waitForContent(t, logFile, "Organizer connected")
	}
	if in.real {
		if got := ownerOf(t, filepath.Join(dataDir, "clapshot.sqlite")); got != serviceUser {
			t.Errorf("database belongs to %s, want %s", got, serviceUser)
		}
	}

	// What logrotate does: rename the file, create a new one for the
	// service user, then `systemctl reload` (ExecReload: SIGUSR1).
	waitForContent(t, logFile, "Clapshot server started")
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logFile, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if in.real {
		run(t, "chown", serviceUser+":adm", logFile)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitForContent(t, logFile, "reopened")
	if err := srv.stop(t); err != nil {
		t.Fatalf("server exit after SIGTERM: %v\n%s", err, srv.out)
	}
	waitForContent(t, logFile, "stopped")

	if in.real && hasSystemd() {
		checkSystemdService(t)
	}
	if !in.real {
		return
	}

	// Something that stands for media, next to the database.
	media := filepath.Join(dataDir, "videos", "0123abcd", "orig", "clip.mp4")
	os.MkdirAll(filepath.Dir(media), 0o755)
	if err := os.WriteFile(media, []byte("not really a video"), 0o644); err != nil {
		t.Fatal(err)
	}

	if d.organizer != "" {
		run(t, "dpkg", "-r", "clapshot-organizer-folders")
	}
	run(t, "dpkg", "-r", "clapshot-server")
	for p, want := range map[string]bool{
		"/usr/bin/clapshot-server": false, confPath: true, media: true,
		filepath.Join(dataDir, "clapshot.sqlite"): true,
	} {
		if exists(p) != want {
			t.Errorf("after dpkg -r: %s exists = %v, want %v", p, !want, want)
		}
	}
	if d.organizer != "" {
		run(t, "dpkg", "-P", "clapshot-organizer-folders")
	}
	out := run(t, "dpkg", "-P", "clapshot-server")
	for p, want := range map[string]bool{
		confPath: false, "/etc/logrotate.d/clapshot-server": false, logFile: false, logFile + ".1": false,
		"/var/lib/clapshot-server": false, media: true, filepath.Join(dataDir, "clapshot.sqlite"): true,
	} {
		if exists(p) != want {
			t.Errorf("after dpkg -P: %s exists = %v, want %v", p, !want, want)
		}
	}
	if _, err := user.Lookup(serviceUser); err != nil {
		t.Errorf("purge removed the user %s although it still owns %s", serviceUser, dataDir)
	}
	if !strings.Contains(out, "keeping "+filepath.Dir(dataDir)) && !strings.Contains(out, "keeping "+dataDir) {
		t.Errorf("purge did not say it keeps the data directory:\n%s", out)
	}

	// Without media: install and purge leave nothing behind.
	os.RemoveAll(dataDir)
	dpkgInstall(t, d.server, d.organizer)
	if !exists(dataDir) {
		t.Fatalf("reinstall did not create %s", dataDir)
	}
	purgeAll(t)
	for _, p := range []string{dataDir, confPath, logFile, "/var/lib/clapshot-server"} {
		if exists(p) {
			t.Errorf("after install and purge without data: %s remains", p)
		}
	}
	if _, err := user.Lookup(serviceUser); err == nil {
		t.Errorf("purge kept the user %s although nothing of it remains", serviceUser)
	}
}

// A Clapshot installation's config file, with its data directory and log
// owned by www-data, keeps working when our package is installed over it.
func TestDebUpgradeOverClapshotConfig(t *testing.T) {
	d := buildDebs(t)
	clapshotConf := filepath.Join(repoRoot(t), "packaging/testdata/clapshot-0.8.2-server.conf")
	in := &installation{root: "/", real: true}
	conf := confPath
	if !realInstall() {
		// Only the config file can be checked without installing.
		in = unpack(t, d.server, d.organizer)
		conf = clapshotConf
	}
	dataDir := in.path(confValue(t, clapshotConf, "data-dir"))
	logFile := in.path(confValue(t, clapshotConf, "log"))

	if in.real {
		purgeAll(t)
		os.RemoveAll(dataDir)
	}
	// A Clapshot 0.5.6-era database, so that migrate = true has work to do,
	// and a media file.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dataDir, "clapshot.sqlite")
	if err := store.CreateAtVersion(context.Background(), db, "20230417100000"); err != nil {
		t.Fatal(err)
	}
	media := filepath.Join(dataDir, "videos", "0123abcd", "video.mp4")
	os.MkdirAll(filepath.Dir(media), 0o755)
	os.WriteFile(media, []byte("not really a video"), 0o644)

	var installOut string
	if in.real {
		t.Cleanup(func() { purgeAll(t); os.RemoveAll("/mnt/clapshot-data"); os.Remove(logFile) })
		b, _ := os.ReadFile(clapshotConf)
		if err := os.WriteFile(confPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(logFile, []byte("a Clapshot log line\n"), 0o640)
		run(t, "chown", "-R", "www-data:www-data", dataDir, logFile)
		installOut = dpkgInstallOpts(t, "--force-confold", d.server)
		got, _ := os.ReadFile(confPath)
		if string(got) != string(b) {
			t.Errorf("the operator's %s was changed by the install", confPath)
		}
		for _, p := range []string{dataDir, db, media, logFile} {
			if o := ownerOf(t, p); o != serviceUser {
				t.Errorf("%s belongs to %s after the install, want %s", p, o, serviceUser)
			}
		}
		// Clapshot's Python organizer is not installed here.
		if !strings.Contains(installOut, "clapshot-organizer-basic-folders, which is not installed") {
			t.Errorf("postinst did not warn about the missing organizer:\n%s", installOut)
		}
		// Our organizer package takes over the old command name.
		if d.organizer != "" {
			dpkgInstallOpts(t, d.organizer)
		}
	}

	port := testkit.MustFreePort(t)
	srv := startProcess(t, in.execStart(t, conf, port))
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/api/health", port), srv)
	if d.organizer != "" {
		// org-cmd = /usr/bin/clapshot-organizer-basic-folders, Clapshot's
		// name, now a link to our organizer.
		waitForContent(t, logFile, "Organizer connected")
	}
	if err := srv.stop(t); err != nil {
		t.Fatalf("server exit: %v\n%s", err, srv.out)
	}
	backups, _ := filepath.Glob(filepath.Join(dataDir, "clapshot.backup-*.tar.gz"))
	if len(backups) != 1 {
		t.Errorf("migrate = true should have made one backup before migrating, found %v", backups)
	}
	st, err := store.Inspect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pending) != 0 {
		t.Errorf("database not migrated: pending %v", st.Pending)
	}
	if !exists(media) {
		t.Error("the media file is gone")
	}
	if in.real {
		purgeAll(t)
		for _, p := range []string{db, media} {
			if !exists(p) {
				t.Errorf("purge removed %s, which it did not create", p)
			}
		}
	}
}

// A config file with an unknown key or a malformed line stops the server
// with exit status 2 and an error naming the line; the unit does not
// restart on status 2 (RestartPreventExitStatus, checked above).
func TestDebBadConfigFile(t *testing.T) {
	in := unpack(t, buildDebs(t).server)
	orig, err := os.ReadFile(in.path(confPath))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(orig), "\n")
	for _, tc := range []struct{ name, add, want string }{
		{"unknown key", "colour = blue\n", fmt.Sprintf("line %d: unknown key \"colour\"", lines+1)},
		{"malformed line", "just some words\n", fmt.Sprintf("line %d: expected \"key = value\"", lines+1)},
		{"duplicate key", "port = 80\n", fmt.Sprintf("line %d: key \"port\" already set on line", lines+1)},
		{"bad number", "workers = many\n", fmt.Sprintf("line %d: workers: invalid value \"many\"", lines+1)},
		{"bad on/off value", "json = maybe\n", fmt.Sprintf("line %d: json: expected true or false", lines+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(scratchDir(t), "clapshot-server.conf")
			os.WriteFile(conf, append(append([]byte{}, orig...), tc.add...), 0o644)
			p := startProcess(t, in.execStart(t, conf, testkit.MustFreePort(t)))
			err := p.waitExit(t, 20*time.Second)
			if exitCode(err) != 2 {
				t.Errorf("exit status %d, want 2 (no restart)\n%s", exitCode(err), p.out)
			}
			if !strings.Contains(p.out.String(), conf+" "+tc.want) {
				t.Errorf("error does not name the file and line (%q):\n%s", tc.want, p.out)
			}
		})
	}
}

// A data directory on a read-only mount: a clear error, exit status 1.
func TestDebReadOnlyDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a read-only bind mount")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot make a mount namespace here (a container without CAP_SYS_ADMIN?): %v %s", err, out)
	}
	in := unpack(t, buildDebs(t).server)
	ro := filepath.Join(scratchDir(t), "data")
	os.MkdirAll(ro, 0o755)
	for _, tc := range []struct {
		name, env, want string
	}{
		{"by hand", "", "data directory " + ro + " is not writable: read-only file system"},
		// systemd sets INVOCATION_ID; the error then says how to allow it.
		{"under systemd", "INVOCATION_ID=0123456789abcdef", "add [Service] ReadWritePaths=" + ro + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := in.execStart(t, "", testkit.MustFreePort(t))
			// A private mount namespace, so the read-only mount is seen by
			// the server only.
			script := `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"`
			args := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, ro}, cmd.Args...)
			wrapped := exec.Command("unshare", args...)
			wrapped.Env = append(cmd.Env, "CLAPSHOT_DATA_DIR="+ro, tc.env)
			p := startProcess(t, wrapped)
			err := p.waitExit(t, 20*time.Second)
			if exitCode(err) != 1 {
				t.Errorf("exit status %d, want 1\n%s", exitCode(err), p.out)
			}
			if !strings.Contains(p.out.String(), tc.want) {
				t.Errorf("no clear error about the read-only data directory (want %q):\n%s", tc.want, p.out)
			}
		})
	}
}

func waitForContent(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q not found within 10 s (err %v):\n%s", path, want, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dpkgInstall installs the package for real, with services kept from
// starting (policy-rc.d) so that the test runs the server itself.
func dpkgInstall(t *testing.T, debs ...string) *installation {
	t.Helper()
	purgeAll(t)
	t.Cleanup(func() { purgeAll(t) })
	dpkgInstallOpts(t, debs...)
	return &installation{root: "/", real: true}
}

// dpkgInstallOpts runs dpkg -i with the arguments (options first, then
// .deb files; "" entries are skipped).
func dpkgInstallOpts(t *testing.T, args ...string) string {
	t.Helper()
	const policy = "/usr/sbin/policy-rc.d"
	if !exists(policy) {
		os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755)
		defer os.Remove(policy)
	}
	full := []string{"-i"}
	for _, a := range args {
		if a != "" {
			full = append(full, a)
		}
	}
	return run(t, "dpkg", full...)
}

// purgeAll removes our packages if installed (a leftover of a failed run).
func purgeAll(t *testing.T) {
	for _, p := range []string{"clapshot-organizer-folders", "clapshot-server"} {
		if err := exec.Command("dpkg", "-s", p).Run(); err == nil {
			if out, err := exec.Command("dpkg", "-P", p).CombinedOutput(); err != nil {
				t.Errorf("dpkg -P %s: %v\n%s", p, err, out)
			}
		}
	}
}

func hasSystemd() bool { return exists("/run/systemd/system") }

// checkSystemdService starts the installed unit through systemd (CI machines
// that boot systemd) and checks it answers as the service user.
func checkSystemdService(t *testing.T) {
	t.Helper()
	run(t, "systemctl", "daemon-reload")
	run(t, "systemctl", "start", "clapshot-server.service")
	defer exec.Command("systemctl", "stop", "clapshot-server.service").Run()
	waitHealthy(t, "http://127.0.0.1:8095/api/health", nil)
	pid := strings.TrimSpace(strings.TrimPrefix(run(t, "systemctl", "show", "-p", "MainPID", "clapshot-server.service"), "MainPID="))
	if got := ownerOf(t, "/proc/"+pid); got != serviceUser {
		t.Errorf("service runs as %s, want %s", got, serviceUser)
	}
	run(t, "systemctl", "reload", "clapshot-server.service")
	resp, err := http.Get("http://127.0.0.1:8095/api/health")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("not healthy after systemctl reload: %v", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}
