package config

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/media"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clapshot-server.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, action, err := Parse([]string{"-D", "/tmp/x"}, envMap(nil))
	if err != nil || action != ActionRun {
		t.Fatal(err)
	}
	if c.Port != 8095 || c.Host != "127.0.0.1" || c.Poll != 3*time.Second || c.BitrateMbps != 2.5 ||
		c.Workers != runtime.NumCPU() || c.DefaultUser != "anonymous" || c.URLBase != "" || c.Migrate ||
		c.Debug != 0 || c.JSONLog || c.LogFile != "" || len(c.TrustedProxies) != 2 ||
		c.WSMaxMessageBytes != 16<<20 || c.WSRateLimit != 100 {
		t.Errorf("defaults: %+v", c)
	}
	if c.DBPath() != "/tmp/x/clapshot.sqlite" {
		t.Errorf("DBPath = %s", c.DBPath())
	}
}

// Every Clapshot 0.8.2 flag, long and short.
func TestClapshotFlags(t *testing.T) {
	args := []string{"-D", "/data", "-U", "https://c.example.com//", "-p", "9000", "-H", "0.0.0.0",
		"--cors", " http://a , http://b/ ", "-P", "0.5", "-w", "3", "-b", "0.1", "--migrate", "-l", "/var/log/c.log",
		"-dd", "-j", "--default-user", "admin", "--org-cmd", "/usr/bin/org", "--org-in-uri", "unix:///tmp/s.sock",
		"--org-out-tcp", "[::1]:50052"}
	c, _, err := Parse(args, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/data" || c.URLBase != "https://c.example.com" || c.Port != 9000 || c.Host != "0.0.0.0" ||
		strings.Join(c.CORSOrigins, "|") != "http://a|http://b" || c.Poll != 500*time.Millisecond ||
		c.Workers != 3 || c.BitrateMbps != 0.1 || !c.Migrate || c.LogFile != "/var/log/c.log" || c.Debug != 2 ||
		!c.JSONLog || c.DefaultUser != "admin" || c.OrgCmd != "/usr/bin/org" || c.OrgInURI != "unix:///tmp/s.sock" ||
		c.OrgOutTCP != "[::1]:50052" {
		t.Errorf("parsed: %+v", c)
	}
	long := []string{"--data-dir=/data", "--url-base=http://x", "--port=1", "--host=clapshot.local", "--poll=2",
		"--workers=1", "--bitrate=5", "--log=-", "--debug", "--json"}
	c, _, err = Parse(long, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "clapshot.local" || c.LogFile != "" || c.Debug != 1 || c.Port != 1 {
		t.Errorf("long forms: %+v", c)
	}
	if _, a, _ := Parse([]string{"-h"}, envMap(nil)); a != ActionHelp {
		t.Error("-h")
	}
	if _, a, _ := Parse([]string{"-V"}, envMap(nil)); a != ActionVersion {
		t.Error("-V")
	}
}

func TestInvalidValuesNameTheProblem(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "--data-dir is required"},
		{[]string{"-D", "/d", "-b", "0.09"}, "--bitrate"},
		{[]string{"-D", "/d", "-p", "65536"}, "--port"},
		{[]string{"-D", "/d", "-p", "-1"}, "--port"},
		{[]string{"-D", "/d", "-p", "http"}, "port"},
		{[]string{"-D", "/d", "-P", "0"}, "--poll"},
		{[]string{"-D", "/d", "-w", "-2"}, "--workers"},
		{[]string{"-D", "/d", "-U", "ftp://x"}, "--url-base"},
		{[]string{"-D", "/d", "-U", "example.com"}, "--url-base"},
		{[]string{"-D", "/d", "-H", "bad host!"}, "--host"},
		{[]string{"-D", "/d", "--org-in-uri", "grpc://x"}, "--org-in-uri"},
		{[]string{"-D", "/d", "--org-out-tcp", "nonsense"}, "--org-out-tcp"},
		{[]string{"-D", "/d", "--trusted-proxies", "10.0.0.0/8,garbage"}, "--trusted-proxies"},
		{[]string{"-D", "/d", "--ws-max-message-mb", "0"}, "--ws-max-message-mb"},
		{[]string{"-D", "/d", "--ws-rate-limit", "-1"}, "--ws-rate-limit"},
		{[]string{"-D", "/d", "--no-such-flag"}, "no-such-flag"},
		{[]string{"-D", "/d", "stray"}, "unexpected argument"},
		{[]string{"-D", "/d", "--web-dir", "/nonexistent-client"}, "--web-dir"},
	}
	for _, tc := range cases {
		_, _, err := Parse(tc.args, envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error mentioning %q, got %v", tc.args, tc.want, err)
		}
	}
}

// Clapshot's shipped Debian config file must work unchanged.
const clapshotDebianConf = `[general]

# User-facing URL where Clapshot is exposed on.
url-base = http://127.0.0.1:8080

# Location for database and video files
data-dir = /mnt/clapshot-data/data
host = 127.0.0.1
port = 8095
org-cmd = /usr/bin/clapshot-organizer-basic-folders
migrate = true

#bitrate = 2.5
#workers = 0
#poll = 3

debug = false
log = /var/log/clapshot.log
#json = false
#cors = *
#default-user = admin
`

func TestDebianConfigFile(t *testing.T) {
	p := writeFile(t, clapshotDebianConf)
	c, _, err := Parse([]string{"--config", p}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.URLBase != "http://127.0.0.1:8080" || c.DataDir != "/mnt/clapshot-data/data" || c.Port != 8095 ||
		c.OrgCmd != "/usr/bin/clapshot-organizer-basic-folders" || !c.Migrate || c.Debug != 0 ||
		c.LogFile != "/var/log/clapshot.log" || c.ConfigFile != p {
		t.Errorf("parsed: %+v", c)
	}
}

func TestINISyntax(t *testing.T) {
	p := writeFile(t, "\uFEFF; a comment\n[general]\nData-Dir: '/srv/my data'\ncors = \"http://a # not a comment\"\nport = 9100   # trailing comment\ndebug = TRUE\njson = true\n")
	c, _, err := Parse([]string{"--config", p}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/my data" || c.CORSOrigins[0] != "http://a # not a comment" || c.Port != 9100 || c.Debug != 1 || !c.JSONLog {
		t.Errorf("parsed: %+v", c)
	}
}

func TestINIErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		content, want string
	}{
		{"[general]\ndata-dir = /d\nfrobnicate = 1\n", "line 3: unknown key \"frobnicate\""},
		{"[general]\ndata-dir = /d\nthis line is wrong\n", "line 3: expected \"key = value\""},
		{"data-dir = /d\n", "line 1"},
		{"[general]\ndata-dir = /d\n[other]\n", "line 3: unknown section"},
		{"[general\n", "line 1: malformed section"},
		{"[general]\ndata-dir = /d\nport = eighty\n", "line 3: port: invalid value \"eighty\""},
		{"[general]\ndata-dir = /d\nmigrate = maybe\n", "line 3: migrate: expected true or false"},
		{"[general]\ndata-dir = /d\nport = 1\nport = 2\n", "line 4: key \"port\" already set on line 3"},
		{"[general]\ndata-dir = /d\nconfig = /x\n", "line 3: unknown key \"config\""},
		{"[general]\ndata-dir = /d\nbitrate = 0.01\n", "--bitrate"},
	}
	for _, tc := range cases {
		p := writeFile(t, tc.content)
		_, _, err := Parse([]string{"--config", p}, envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: want error containing %q, got %v", tc.content, tc.want, err)
		}
	}
	if _, _, err := Parse([]string{"--config", "/nonexistent/file.conf"}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "/nonexistent/file.conf") {
		t.Errorf("missing file: %v", err)
	}
}

func TestPrecedenceFlagsEnvFileDefault(t *testing.T) {
	p := writeFile(t, "[general]\ndata-dir = /from-file\nport = 1111\nhost = 10.0.0.1\nbitrate = 4\n")
	env := envMap(map[string]string{"CLAPSHOT_PORT": "2222", "CLAPSHOT_HOST": "10.0.0.2", "CLAPSHOT_MIGRATE": "true", "CLAPSHOT_DEBUG": "2"})
	c, _, err := Parse([]string{"--config", p, "-H", "10.0.0.3"}, env)
	if err != nil {
		t.Fatal(err)
	}
	// host: flag > env > file; port: env > file; bitrate: file > default; poll: default.
	if c.Host != "10.0.0.3" || c.Port != 2222 || c.BitrateMbps != 4 || c.Poll != 3*time.Second ||
		!c.Migrate || c.Debug != 2 || c.DataDir != "/from-file" {
		t.Errorf("precedence: %+v", c)
	}
	// The config file itself can come from the environment.
	c, _, err = Parse(nil, envMap(map[string]string{"CLAPSHOT_CONFIG": p, "CLAPSHOT_URL_BASE": "https://env.example"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from-file" || c.URLBase != "https://env.example" {
		t.Errorf("env config: %+v", c)
	}
	if _, _, err := Parse([]string{"-D", "/d"}, envMap(map[string]string{"CLAPSHOT_PORT": "x"})); err == nil || !strings.Contains(err.Error(), "CLAPSHOT_PORT") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestPrepareDataDir(t *testing.T) {
	root := t.TempDir()
	c := &Config{DataDir: filepath.Join(root, "new")}
	if err := c.PrepareDataDir(); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"videos", "incoming"} {
		if st, err := os.Stat(filepath.Join(root, "new", sub)); err != nil || !st.IsDir() {
			t.Errorf("%s not created", sub)
		}
	}
	c = &Config{DataDir: filepath.Join(root, "missing", "parent")}
	if err := c.PrepareDataDir(); err == nil || !strings.Contains(err.Error(), "parent directory") {
		t.Errorf("missing parent: %v", err)
	}
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	c = &Config{DataDir: file}
	if err := c.PrepareDataDir(); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("file: %v", err)
	}
}

func TestMediaPipelineOptions(t *testing.T) {
	c, _, err := Parse([]string{"-D", "/d"}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.UploadMaxSize != 0 || c.UploadExpiry != 24*time.Hour || c.TrashRetention != 0 || c.TranscodeScript != "" || c.HLSLadder != nil {
		t.Errorf("defaults: %+v", c)
	}
	// The ladder: off by default; on, 1080p/720p/360p unless told otherwise.
	if c, _, err = Parse([]string{"-D", "/d", "--hls-ladder"}, envMap(nil)); err != nil || !slices.Equal(c.HLSLadder, media.DefaultLadder) {
		t.Errorf("--hls-ladder: %v %v", c.HLSLadder, err)
	}
	conf := writeFile(t, "[general]\ndata-dir = /d\nhls-ladder = true\nhls-ladder-rungs = 720:2, 480:1\n")
	if c, _, err = Parse([]string{"--config", conf}, envMap(nil)); err != nil ||
		!slices.Equal(c.HLSLadder, []media.Rung{{Height: 720, Bitrate: 2_000_000}, {Height: 480, Bitrate: 1_000_000}}) {
		t.Errorf("ladder from the file: %v %v", c.HLSLadder, err)
	}

	script := filepath.Join(t.TempDir(), "transcode.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	conf = writeFile(t, "[general]\ndata-dir = /d\nupload-max-size = 50G\ntrash-retention = 30d\ntranscode-script = "+script+"\n")
	c, _, err = Parse([]string{"--config", conf, "--upload-expiry", "90m"}, envMap(map[string]string{"CLAPSHOT_UPLOAD_MAX_SIZE": "2TiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.UploadMaxSize != 2<<40 || c.UploadExpiry != 90*time.Minute || c.TrashRetention != 30*24*time.Hour || c.TranscodeScript != script {
		t.Errorf("parsed: size %d expiry %v retention %v script %q", c.UploadMaxSize, c.UploadExpiry, c.TrashRetention, c.TranscodeScript)
	}

	for _, s := range []struct {
		in   string
		want int64
	}{{"0", 0}, {"1024", 1024}, {"500M", 500 << 20}, {"1.5k", 1536}, {"2GB", 2 << 30}, {"3 GiB", 3 << 30}} {
		if got, err := ParseSize(s.in); err != nil || got != s.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.in, got, err, s.want)
		}
	}

	notExec := filepath.Join(t.TempDir(), "plain.sh")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--upload-max-size", "lots"}, "--upload-max-size"},
		{[]string{"--upload-max-size", "-5M"}, "--upload-max-size"},
		{[]string{"--upload-expiry", "10s"}, "at least 1m"},
		{[]string{"--upload-expiry", "soon"}, "--upload-expiry"},
		{[]string{"--trash-retention", "-1h"}, "must not be negative"},
		{[]string{"--trash-retention", "a while"}, "--trash-retention"},
		{[]string{"--transcode-script", "/nonexistent/script"}, "--transcode-script"},
		{[]string{"--transcode-script", notExec}, "not executable"},
		{[]string{"--transcode-script", t.TempDir()}, "not a regular file"},
		{[]string{"--hls-ladder-rungs", "720:2,1080:5"}, "--hls-ladder-rungs: \"1080:5\": list the rungs from the highest to the lowest"},
		{[]string{"--hls-ladder-rungs", "720"}, "--hls-ladder-rungs: \"720\": expected HEIGHT:MBITS"},
		{[]string{"--media-url", "/srv/media"}, "only s3://bucket/prefix is supported"},
		{[]string{"--media-url", "s3://k:s@b/p"}, "put no credentials in the URL"},
		{[]string{"--media-proxy"}, "--media-proxy needs --media-url"},
	}
	for _, tc := range bad {
		_, _, err := Parse(append([]string{"-D", "/d"}, tc.args...), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error mentioning %q, got %v", tc.args, tc.want, err)
		}
	}
}

// --media-url from the command line, the environment (with the AWS
// variables) or the file.
func TestMediaURL(t *testing.T) {
	c, _, err := Parse([]string{"-D", "/d", "--media-url", "s3://media/p"},
		envMap(map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_REGION": "eu-north-1"}))
	if err != nil || c.MediaURL != "s3://media/p" || c.MediaStore.Bucket != "media" || c.MediaStore.Prefix != "p" ||
		c.MediaStore.Endpoint != "127.0.0.1:9000" || c.MediaStore.TLS || c.MediaStore.Region != "eu-north-1" || c.MediaProxy {
		t.Errorf("flag: %+v %v", c, err)
	}
	conf := writeFile(t, "[general]\ndata-dir = /d\nmedia-url = s3://b?endpoint=https://minio.lan\nmedia-proxy = true\n")
	if c, _, err = Parse([]string{"--config", conf}, envMap(nil)); err != nil || c.MediaStore.Endpoint != "minio.lan" || !c.MediaStore.TLS || !c.MediaProxy {
		t.Errorf("file: %+v %v", c, err)
	}
	if c, _, err = Parse([]string{"-D", "/d"}, envMap(map[string]string{"CLAPSHOT_MEDIA_URL": "s3://env"})); err != nil || c.MediaStore.Bucket != "env" {
		t.Errorf("environment: %+v %v", c, err)
	}
}

// --allowed-hosts: the host of --url-base by default, an explicit list
// (which replaces that default) normalised to lower-case names, and
// entries that cannot be host names refused with what to write instead.
func TestAllowedHosts(t *testing.T) {
	cases := []struct {
		args []string
		want string // joined with |, or the error's text
	}{
		{[]string{}, ""},
		{[]string{"-U", "https://Clapshot.Example.com:8443/review"}, "clapshot.example.com"},
		{[]string{"-U", "https://c.example.com", "--allowed-hosts", "Review.Example.org., *.intra.example, clapshot_app"},
			"review.example.org|*.intra.example|clapshot_app"},
		{[]string{"--allowed-hosts", "*"}, "*"},
		{[]string{"--allowed-hosts", "10.0.0.5, [::1]"}, ""}, // IP addresses are always allowed
		{[]string{"--allowed-hosts", "https://c.example.com/"}, `is a URL; give its host name only (c.example.com)`},
		{[]string{"--allowed-hosts", "c.example.com:8443"}, "without a port"},
		{[]string{"--allowed-hosts", "bad host"}, "is not a host name"},
	}
	for _, tc := range cases {
		c, _, err := Parse(append([]string{"-D", "/tmp/x"}, tc.args...), envMap(nil))
		got := ""
		if err != nil {
			got = err.Error()
			if !strings.Contains(got, "--allowed-hosts") || !strings.Contains(got, tc.want) {
				t.Errorf("%v: error %q, want one naming --allowed-hosts and %q", tc.args, got, tc.want)
			}
			continue
		}
		if got = strings.Join(c.AllowedHosts, "|"); got != tc.want {
			t.Errorf("%v: AllowedHosts %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestLiveConfig(t *testing.T) {
	p := writeFile(t, "[general]\ndata-dir = /d\n[live]\nconfig = /etc/clapshot/live.toml\n")
	c, _, err := Parse([]string{"--config", p}, envMap(nil))
	if err != nil || c.LiveConfig != "/etc/clapshot/live.toml" {
		t.Fatalf("[live] config: %v %+v", err, c)
	}
	c, _, err = Parse([]string{"--config", p, "--live-config", "cams.json"}, envMap(nil))
	if err != nil || c.LiveConfig != "cams.json" {
		t.Fatalf("--live-config over the file: %v %+v", err, c)
	}
	p = writeFile(t, "[general]\ndata-dir = /d\n[live]\nconfg = x\n")
	if _, _, err := Parse([]string{"--config", p}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("typo in [live]: %v", err)
	}
}

// --db-url selects PostgreSQL; anything else, or an organizer beside it,
// is refused at start-up with the reason (and never echoes a password).
func TestDBURL(t *testing.T) {
	c, _, err := Parse([]string{"-D", "/d", "--db-url", " postgres://clapshot:pw@db.example.com:5432/clapshot "}, envMap(nil))
	if err != nil || c.DBURL != "postgres://clapshot:pw@db.example.com:5432/clapshot" {
		t.Fatalf("%+v %v", c, err)
	}
	c, _, err = Parse([]string{"-D", "/d"}, envMap(map[string]string{"CLAPSHOT_DB_URL": "postgresql:///clapshot?host=/run/postgresql"}))
	if err != nil || c.DBURL != "postgresql:///clapshot?host=/run/postgresql" {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	// An organizer beside it is told the URL (one per instance).
	c, _, err = Parse([]string{"-D", "/d", "--db-url", "postgres://u:secret@h/db", "--org-cmd", "/usr/bin/clapshot-organizer-folders"}, envMap(nil))
	if err != nil || c.DBURL == "" || c.OrgCmd == "" {
		t.Fatalf("organizer with --db-url: %+v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-D", "/d", "--db-url", "mysql://u:secret@h/db"}, "expected postgres://"},
		{[]string{"-D", "/d", "--db-url", "/d/clapshot.sqlite"}, "expected postgres://"},
	} {
		_, _, err := Parse(tc.args, envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// --fanout-url picks NATS for the events between instances; it needs
// --db-url and a nats:// (or tls://) URL, and never echoes a password.
func TestFanoutURL(t *testing.T) {
	db := []string{"-D", "/d", "--db-url", "postgres://u:pw@h/db"}
	c, _, err := Parse(append(db, "--fanout-url", " nats://127.0.0.1:4222 "), envMap(nil))
	if err != nil || c.FanoutURL != "nats://127.0.0.1:4222" {
		t.Fatalf("%+v %v", c, err)
	}
	c, _, err = Parse(db, envMap(map[string]string{"CLAPSHOT_FANOUT_URL": "nats://a:4222,tls://b:4222"}))
	if err != nil || c.FanoutURL != "nats://a:4222,tls://b:4222" {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	if c, _, err = Parse(db, envMap(nil)); err != nil || c.FanoutURL != "" {
		t.Fatalf("default: %+v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-D", "/d", "--fanout-url", "nats://127.0.0.1:4222"}, "give --db-url too"},
		{append(db, "--fanout-url", "http://user:secret@h:4222"), "expected nats://"},
		{append(db, "--fanout-url", "nats://h:4222,redis://h"), "expected nats://"},
		{append(db, "--fanout-url", "nats://"), "expected nats://"},
	} {
		_, _, err := Parse(tc.args, envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}

// --migrate-to is an action on the command line only, next to the usual
// configuration (the Debian file's organizer does not stand in its way).
func TestMigrateTo(t *testing.T) {
	conf := writeFile(t, "[general]\ndata-dir = /srv/c\norg-cmd = /usr/bin/clapshot-organizer-folders\n")
	c, action, err := Parse([]string{"--config", conf, "--migrate-to", "postgres://c:pw@db/c"}, envMap(nil))
	if err != nil || action != ActionMigrateTo || c.MigrateTo != "postgres://c:pw@db/c" || c.DBPath() != "/srv/c/clapshot.sqlite" {
		t.Fatalf("%+v %v %v", c, action, err)
	}
	if _, _, err := Parse([]string{"-D", "/d", "--migrate-to", "sqlite:///x"}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "--migrate-to") {
		t.Errorf("non-PostgreSQL target: %v", err)
	}
	if _, _, err := Parse([]string{"--config", writeFile(t, "[general]\ndata-dir = /d\nmigrate-to = postgres://x/y\n")}, envMap(nil)); err == nil {
		t.Error("migrate-to accepted in the config file")
	}
	if _, a, _ := Parse([]string{"-D", "/d"}, envMap(map[string]string{"CLAPSHOT_MIGRATE_TO": "postgres://x/y"})); a != ActionRun {
		t.Error("CLAPSHOT_MIGRATE_TO started a copy")
	}
}
