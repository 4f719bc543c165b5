// Package packaging holds what is needed to deploy clapshot-server: the
// Debian packaging (nfpm configs, systemd units, maintainer scripts, the
// config file), the nginx examples, and Site, which runs an nginx example
// locally in front of a local server for `make demo`, the proxy tests and
// the media-serving benchmark.
package packaging

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed nginx/*.conf
var examples embed.FS

// Example file names, as shipped in /usr/share/doc/clapshot-server/examples/.
const (
	ExamplePlain     = "clapshot.nginx.conf"
	ExampleBasicAuth = "clapshot+basic-auth.nginx.conf"
)

// Example returns the text of a shipped nginx example.
func Example(name string) (string, error) {
	b, err := examples.ReadFile("nginx/" + name)
	if err != nil {
		return "", fmt.Errorf("nginx example %s: %w", name, err)
	}
	return string(b), nil
}

// Site is an nginx example made runnable without root: the shipped file with
// only its addresses and paths replaced, inside a minimal nginx.conf whose
// pid file, logs and temporary files live in Dir.
type Site struct {
	Example  string // ExamplePlain or ExampleBasicAuth
	Dir      string // nginx's prefix: config, logs, temporary files
	Listen   string // host:port nginx listens on, e.g. 127.0.0.1:8080
	Upstream string // host:port of clapshot-server
	DataDir  string // the server's --data-dir (nginx serves its videos/)
	Htpasswd string // the password file (basic-auth example)
	// MaxBody, if not "", replaces the example's client_max_body_size for
	// /api/ (e.g. "1m", to stand for a proxy that limits uploads).
	MaxBody string
	// Workers is nginx's worker_processes: "" for 1, or "auto" (one per
	// CPU, as Debian's nginx.conf has it).
	Workers string
}

// replace swaps old for new in s, and fails unless old occurs exactly
// want times: an edited example must not silently stop matching.
func replace(s, old, new string, want int) (string, error) {
	if n := strings.Count(s, old); n != want {
		return "", fmt.Errorf("expected %q %d time(s) in the example, found it %d time(s)", old, want, n)
	}
	return strings.ReplaceAll(s, old, new), nil
}

// siteBlock is the example with this site's addresses and paths.
func (s Site) siteBlock() (string, error) {
	text, err := Example(s.Example)
	if err != nil {
		return "", err
	}
	type sub struct {
		old, new string
		n        int
	}
	subs := []sub{
		{"listen 80;", "listen " + s.Listen + ";", 1},
		{"listen [::]:80;", "", 1},
		{"alias /mnt/clapshot-data/data/videos/;", "alias " + filepath.Join(s.DataDir, "videos") + "/;", 1},
		{"proxy_pass http://127.0.0.1:8095;", "proxy_pass http://" + s.Upstream + ";", strings.Count(text, "proxy_pass http://127.0.0.1:8095;")},
	}
	if strings.Count(text, "proxy_pass http://127.0.0.1:8095;") < 2 {
		return "", fmt.Errorf("%s: expected proxy_pass to 127.0.0.1:8095", s.Example)
	}
	if s.Example == ExampleBasicAuth {
		subs = append(subs, sub{"auth_basic_user_file /etc/nginx/clapshot.htpasswd;", "auth_basic_user_file " + s.Htpasswd + ";", 1})
	}
	if s.MaxBody != "" {
		subs = append(subs, sub{"client_max_body_size 0;", "client_max_body_size " + s.MaxBody + ";", 1})
	}
	for _, r := range subs {
		if text, err = replace(text, r.old, r.new, r.n); err != nil {
			return "", fmt.Errorf("%s: %w", s.Example, err)
		}
	}
	return text, nil
}

// workerUser is who nginx's workers run as when nginx is started as root
// (the master then drops privileges for them).
const workerUser, workerGroup = "nobody", "nogroup"

// Config is the complete nginx.conf for the site.
func (s Site) Config() (string, error) {
	block, err := s.siteBlock()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# Generated from the shipped example " + s.Example + "; only addresses and paths differ.\n")
	workers := s.Workers
	if workers == "" {
		workers = "1"
	}
	b.WriteString("daemon off;\nworker_processes " + workers + ";\n")
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "user %s %s;\n", workerUser, workerGroup)
	}
	fmt.Fprintf(&b, "pid %s;\nerror_log %s warn;\n", filepath.Join(s.Dir, "nginx.pid"), filepath.Join(s.Dir, "error.log"))
	b.WriteString("events {\n\tworker_connections 1024;\n}\n")
	b.WriteString("http {\n\tinclude /etc/nginx/mime.types;\n\tdefault_type application/octet-stream;\n")
	fmt.Fprintf(&b, "\taccess_log %s;\n", filepath.Join(s.Dir, "access.log"))
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "\t%s_temp_path %s;\n", t, filepath.Join(s.Dir, "tmp", t))
	}
	b.WriteString(block)
	b.WriteString("}\n")
	return b.String(), nil
}

// Nginx is a running nginx.
type Nginx struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	Dir  string
}

// Start writes the configuration into s.Dir, checks it with nginx -t and
// starts nginx in the foreground. Its own output goes to w. Stop it with
// Stop; the process also dies with its parent.
func (s Site) Start(w io.Writer) (*Nginx, error) {
	conf, err := s.Config()
	if err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, fmt.Errorf("nginx is not installed (apt-get install nginx-light): %w", err)
		}
		bin = "/usr/sbin/nginx"
	}
	tmp := filepath.Join(s.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// The workers write request bodies and buffered responses here.
		u, err := user.Lookup(workerUser)
		if err != nil {
			return nil, fmt.Errorf("nginx worker user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(tmp, uid, gid); err != nil {
			return nil, err
		}
	}
	confPath := filepath.Join(s.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-p", s.Dir, "-e", filepath.Join(s.Dir, "error.log"), "-c", confPath}
	if out, err := exec.Command(bin, append(args, "-t", "-q")...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t rejects %s: %v\n%s", confPath, err, out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group, so that Ctrl-C in a terminal reaches only the
	// program that started it, which then stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	n := &Nginx{cmd: cmd, done: make(chan struct{}), Dir: s.Dir}
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	return n, nil
}

// Done is closed when nginx has exited.
func (n *Nginx) Done() <-chan struct{} { return n.done }

// Stop asks nginx to shut down (SIGQUIT: finish open requests) and waits up
// to grace, then kills it.
func (n *Nginx) Stop(grace time.Duration) error {
	select {
	case <-n.done:
		return n.err
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		<-n.done
		return fmt.Errorf("nginx did not stop within %s", grace)
	}
}

// WriteHtpasswd writes an htpasswd file with bcrypt hashes made by Apache's
// htpasswd tool (package apache2-utils), as the deployment guide does.
func WriteHtpasswd(path string, users [][2]string) error {
	if _, err := exec.LookPath("htpasswd"); err != nil {
		return fmt.Errorf("htpasswd is not installed (apt-get install apache2-utils): %w", err)
	}
	os.Remove(path)
	for i, u := range users {
		args := []string{"-b", "-B", path, u[0], u[1]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("htpasswd", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("htpasswd %s: %v\n%s", u[0], err, out)
		}
	}
	// nginx's workers (not root) read it.
	return os.Chmod(path, 0o644)
}
