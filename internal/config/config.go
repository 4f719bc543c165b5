// Package config turns the command line, the Debian INI file and CLAPSHOT_*
// environment variables into one validated Config.
//
// Every option is declared once, in newFlagSet. The INI file and the
// environment address the same options by their long flag names, so a key
// that works on the command line works everywhere. Precedence, highest
// first: command line, environment, config file, built-in default.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/clapshot-go/clapshot/internal/media"
	"github.com/clapshot-go/clapshot/internal/objstore"
)

// Config is the server's validated configuration.
type Config struct {
	DataDir string
	// URLBase is the public base URL without a trailing slash, or "" to make
	// every media URL a same-origin relative path.
	URLBase     string
	Host        string
	Port        int
	CORSOrigins []string
	Poll        time.Duration
	Workers     int
	// BitrateMbps is the target (max) video bitrate in Mbit/s.
	BitrateMbps float64
	Migrate     bool
	// DBURL is a PostgreSQL database (postgres://...) used instead of
	// <data-dir>/clapshot.sqlite; "" for SQLite. Media files stay in the
	// data directory either way.
	DBURL string
	// RemoteWorkers leaves transcodes, thumbnails and ladders to
	// clapshot-worker processes on the same DBURL.
	RemoteWorkers bool
	// FanoutURL is a NATS server (nats://host:4222) that carries events
	// between the instances instead of PostgreSQL's LISTEN/NOTIFY; "" for
	// LISTEN/NOTIFY. Only with DBURL.
	FanoutURL string
	// JobLease is how long a running job stays its process's without a
	// renewal, on a PostgreSQL job queue shared by several processes.
	JobLease time.Duration
	// MigrateTo is the PostgreSQL database --migrate-to copies the SQLite
	// database into (ActionMigrateTo).
	MigrateTo string
	// LogFile is "" for stdout.
	LogFile     string
	Debug       int
	JSONLog     bool
	DefaultUser string

	OrgCmd    string
	OrgInURI  string
	OrgOutTCP string

	// TrustedProxies lists the networks whose identity headers
	// (X-Remote-User-*) are believed.
	TrustedProxies []netip.Prefix
	// AllowedHosts are the host names the server answers for (the Host
	// header, without port), besides IP addresses and localhost, which are
	// always allowed: lower case, "*.example.com" for subdomains, "*" for
	// any. By default the host of URLBase.
	AllowedHosts []string

	// WSMaxMessageBytes is the largest websocket message accepted (a
	// drawing or a subtitle file travels in one message).
	WSMaxMessageBytes int64
	// WSRateLimit is how many websocket messages per second one session may
	// send on average (bursts of a few seconds' worth pass); 0 = no limit.
	WSRateLimit float64

	// ConfigFile is the INI file the values were read from, if any.
	ConfigFile string

	// ClientConf is a clapshot_client.conf.json-style file with the web
	// UI's title, logo and user menu ("" = defaults).
	ClientConf string
	// WebDir serves another web client build (e.g. Clapshot's own) from
	// this directory instead of the embedded one.
	WebDir string

	// Media pipeline.
	// UploadMaxSize is the largest accepted upload in bytes (0: no limit).
	UploadMaxSize int64
	// UploadExpiry is how long an unfinished resumable upload is kept.
	UploadExpiry time.Duration
	// TrashRetention is how long deleted media stay in videos/trash
	// (0: forever, as in Clapshot).
	TrashRetention time.Duration
	// TranscodeScript runs instead of ffmpeg for transcodes ("": ffmpeg).
	TranscodeScript string
	// HLSLadder are the rungs of the adaptive HLS ladder made for every new
	// video (nil: none, --hls-ladder off).
	HLSLadder []media.Rung
	// MediaURL is where media files are kept: "" for the data directory,
	// or s3://bucket/prefix for an S3-compatible object store (then the
	// data directory is a spool for uploads and ffmpeg). MediaStore is its
	// parsed form.
	MediaURL   string
	MediaStore objstore.Config
	// MediaProxy streams media from the object store through the server
	// instead of redirecting browsers to presigned URLs.
	MediaProxy bool

	// Notifications.
	// SMTPURL is the mail server for e-mail notifications ("": no e-mail),
	// smtp://[user:password@]host[:port][?tls=required] or smtps://...
	SMTPURL string
	// SMTPFrom is the sender of notification e-mails.
	SMTPFrom string
	// WebhookAllowPrivate lets users' webhooks call loopback and private
	// addresses (off: they could reach internal services).
	WebhookAllowPrivate bool
	// LiveConfig is a live-camera configuration file in LdDl/video-server's
	// format (TOML or JSON; "" = no live cameras). See docs/live.md.
	LiveConfig string
}

// Action says what the caller should do after parsing.
type Action int

const (
	ActionRun Action = iota
	ActionHelp
	ActionVersion
	// ActionOrgTest runs the organizer's own tests (--org-test).
	ActionOrgTest
	// ActionMigrateTo copies the SQLite database into PostgreSQL
	// (--migrate-to) and exits.
	ActionMigrateTo
)

// EnvPrefix prefixes environment variables: --data-dir is CLAPSHOT_DATA_DIR.
const EnvPrefix = "CLAPSHOT_"

const defaultTrustedProxies = "127.0.0.0/8,::1/128"

// raw holds option values as parsed, before validation.
type raw struct {
	dataDir, urlBase, host, cors, logFile, defaultUser string
	orgCmd, orgInURI, orgOutTCP, trustedProxies        string
	allowedHosts, dbURL, migrateTo, fanoutURL          string
	configFile, clientConf, webDir                     string
	port, workers, debug, wsMaxMessageMB               int
	poll, bitrate, wsRateLimit                         float64
	migrate, json, help, version, orgTest              bool
	hlsLadder, remoteWorkers                           bool
	jobLease                                           string
	hlsLadderRungs                                     string
	mediaURL                                           string
	mediaProxy                                         bool

	uploadMaxSize, uploadExpiry, trashRetention, transcodeScript string
	smtpURL, smtpFrom                                            string
	webhookAllowPrivate                                          bool

	liveConfig string

	// getenv reads the environment (the AWS_* variables of --media-url).
	getenv func(string) string
}

func newFlagSet(r *raw) *pflag.FlagSet {
	fs := pflag.NewFlagSet("clapshot-server", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&r.dataDir, "data-dir", "D", "", "Directory for the database, uploads and media files (created if its parent exists)")
	fs.StringVarP(&r.urlBase, "url-base", "U", "", "Public base URL, e.g. https://clapshot.example.com (default: same-origin relative URLs)")
	fs.IntVarP(&r.port, "port", "p", 8095, "Port to listen on for HTTP and WebSocket")
	fs.StringVarP(&r.host, "host", "H", "127.0.0.1", "Host name or IP address to listen on")
	fs.StringVar(&r.cors, "cors", "", "Comma-separated origins allowed by CORS, or * for any (default: the origin of --url-base)")
	fs.Float64VarP(&r.poll, "poll", "P", 3.0, "Polling interval for the incoming folder, in seconds")
	fs.IntVarP(&r.workers, "workers", "w", 0, "Number of transcoding workers (0 = number of CPUs)")
	fs.Float64VarP(&r.bitrate, "bitrate", "b", 2.5, "Target (max) video bitrate in Mbit/s (at least 0.1)")
	fs.BoolVar(&r.migrate, "migrate", false, "Migrate an existing database to this version, after a backup")
	fs.StringVar(&r.migrateTo, "migrate-to", "", "Copy <data-dir>/clapshot.sqlite (Clapshot's too) into this empty PostgreSQL database, compare the row counts of every table, print them and exit; the SQLite file is not changed")
	fs.StringVar(&r.dbURL, "db-url", "", "Use this PostgreSQL database instead of <data-dir>/clapshot.sqlite: postgres://user:password@host:port/database (media stay in --data-dir)")
	fs.BoolVar(&r.remoteWorkers, "remote-workers", false, "Leave transcodes, thumbnails and HLS ladders to clapshot-worker processes on the same --db-url (this server files uploads)")
	fs.StringVar(&r.fanoutURL, "fanout-url", "", "With --db-url: carry comments, collab sessions and notifications between the instances through this NATS server (nats://host:4222; several comma-separated) instead of PostgreSQL's LISTEN/NOTIFY")
	fs.StringVar(&r.jobLease, "job-lease", "30s", "With --db-url: a running media job whose process has not renewed it for this long (it died) is run again by another")
	fs.StringVarP(&r.logFile, "log", "l", "", "Log file (default: stdout); reopened on SIGUSR1")
	fs.CountVarP(&r.debug, "debug", "d", "Debug logging; -dd for trace")
	fs.BoolVarP(&r.json, "json", "j", false, "Log in JSON format")
	fs.StringVar(&r.defaultUser, "default-user", "anonymous", "User id when no X-Remote-User-Id header is given")
	fs.StringVar(&r.orgCmd, "org-cmd", "", "Shell command that starts an Organizer plugin")
	fs.StringVar(&r.orgInURI, "org-in-uri", "", "Organizer endpoint for server-to-organizer calls (unix://path, path or http(s)://host:port)")
	fs.StringVar(&r.orgOutTCP, "org-out-tcp", "", "Listen on this TCP address (e.g. [::1]:50052) for organizer-to-server calls instead of a Unix socket")
	fs.BoolVar(&r.orgTest, "org-test", false, "Run the --org-cmd organizer's own tests (list_tests/run_test), each against a fresh server and test database; print a table and exit")
	fs.StringVar(&r.trustedProxies, "trusted-proxies", defaultTrustedProxies, "Comma-separated networks (CIDR or IP) whose identity headers are trusted")
	fs.StringVar(&r.allowedHosts, "allowed-hosts", "", "Comma-separated host names the server answers for besides IP addresses and localhost; *.example.com for subdomains, * for any (default: the host of --url-base)")
	fs.IntVar(&r.wsMaxMessageMB, "ws-max-message-mb", 16, "Largest websocket message accepted, in MiB (drawings and subtitle files travel in one message)")
	fs.Float64Var(&r.wsRateLimit, "ws-rate-limit", 100, "Websocket messages per second one session may send on average (0 = no limit)")
	fs.StringVar(&r.clientConf, "client-conf", "", "Web UI settings file in clapshot_client.conf.json format (title, logo, user menu)")
	fs.StringVar(&r.webDir, "web-dir", "", "Serve the web client from this directory instead of the built-in one (e.g. Clapshot's client)")
	fs.StringVar(&r.uploadMaxSize, "upload-max-size", "0", "Largest accepted upload, e.g. 50G (0 = no limit)")
	fs.StringVar(&r.uploadExpiry, "upload-expiry", "24h", "Remove unfinished resumable uploads after this long, e.g. 24h or 7d")
	fs.StringVar(&r.trashRetention, "trash-retention", "0", "Purge deleted media from videos/trash after this long, e.g. 30d (0 = keep forever)")
	fs.StringVar(&r.transcodeScript, "transcode-script", "", "Executable to run instead of ffmpeg for transcodes (see docs/transcoding.md)")
	fs.BoolVar(&r.hlsLadder, "hls-ladder", false, "After ingest, also make an adaptive HLS ladder of each video (H.264 + AAC, CMAF), played with a quality menu")
	fs.StringVar(&r.hlsLadderRungs, "hls-ladder-rungs", "1080:5,720:2.8,360:0.8", "The ladder's rungs as HEIGHT:MBITS, highest first; capped at the source's size")
	fs.StringVar(&r.mediaURL, "media-url", "", "Keep media files in an S3-compatible object store, s3://BUCKET/PREFIX[?endpoint=URL&region=R] (credentials and endpoint from the AWS_* variables or ~/.aws; see docs/deployment.md)")
	fs.BoolVar(&r.mediaProxy, "media-proxy", false, "With --media-url, stream media through this server instead of redirecting browsers to presigned URLs")
	fs.StringVar(&r.smtpURL, "smtp-url", "", "Mail server for notification e-mails: smtp://[user:password@]host[:port][?tls=required] (STARTTLS when offered) or smtps://... (prefer the environment or config file for a password)")
	fs.StringVar(&r.smtpFrom, "smtp-from", "", "Sender of notification e-mails, e.g. \"Clapshot <clapshot@example.com>\"")
	fs.BoolVar(&r.webhookAllowPrivate, "webhook-allow-private", false, "Let users' notification webhooks call loopback and private addresses")
	fs.StringVar(&r.liveConfig, "live-config", "", "Live cameras: a video-server style TOML or JSON file (see docs/live.md); [live] config = FILE in the --config file")
	fs.StringVar(&r.configFile, "config", "", "Read options from this INI file ([general] section, keys are long option names)")
	fs.BoolVarP(&r.help, "help", "h", false, "Print help")
	fs.BoolVarP(&r.version, "version", "V", false, "Print version")
	return fs
}

// notInFile lists options that make no sense in a config file.
var notInFile = map[string]bool{"config": true, "help": true, "version": true, "org-test": true, "migrate-to": true}

// Usage returns the --help text.
func Usage() string {
	var r raw
	fs := newFlagSet(&r)
	return "Usage: clapshot-server [OPTIONS]\n\nOptions:\n" + fs.FlagUsages() +
		"\nEvery option can also be given in the --config file (key = long name)\n" +
		"or as an environment variable " + EnvPrefix + "<NAME> (e.g. " + EnvPrefix + "DATA_DIR).\n"
}

// Parse parses args (without the program name). lookupEnv is os.LookupEnv in
// production and a map lookup in tests.
func Parse(args []string, lookupEnv func(string) (string, bool)) (*Config, Action, error) {
	var r raw
	fs := newFlagSet(&r)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return nil, ActionRun, err
	}
	if fs.NArg() > 0 {
		return nil, ActionRun, fmt.Errorf("unexpected argument %q (options start with - or --)", fs.Arg(0))
	}
	if r.help {
		return nil, ActionHelp, nil
	}
	if r.version {
		return nil, ActionVersion, nil
	}

	if !fs.Changed("config") {
		if v, ok := lookupEnv(envName("config")); ok && v != "" {
			r.configFile = v
		}
	}
	var fileValues []iniValue
	if r.configFile != "" {
		var err error
		fileValues, err = readINIFile(r.configFile)
		if err != nil {
			return nil, ActionRun, err
		}
	}

	// Environment beats the file: apply it first and mark the option as set.
	fromEnv := map[string]bool{}
	var envErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if envErr != nil || fs.Changed(f.Name) || notInFile[f.Name] {
			return
		}
		v, ok := lookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if err := setValue(fs, f.Name, v); err != nil {
			envErr = fmt.Errorf("environment variable %s: %w", envName(f.Name), err)
		}
		fromEnv[f.Name] = true
	})
	if envErr != nil {
		return nil, ActionRun, envErr
	}
	for _, kv := range fileValues {
		f := fs.Lookup(kv.key)
		if f == nil || notInFile[kv.key] {
			return nil, ActionRun, fmt.Errorf("%s line %d: unknown key %q (keys are long option names, e.g. data-dir)", r.configFile, kv.line, kv.key)
		}
		if fs.Changed(kv.key) || fromEnv[kv.key] {
			continue
		}
		if err := setValue(fs, kv.key, kv.value); err != nil {
			return nil, ActionRun, fmt.Errorf("%s line %d: %w", r.configFile, kv.line, err)
		}
	}

	r.getenv = func(k string) string { v, _ := lookupEnv(k); return v }
	cfg, err := r.validate()
	if err != nil {
		return nil, ActionRun, err
	}
	if u := strings.TrimSpace(r.migrateTo); u != "" {
		if !isPostgresURL(u) {
			return nil, ActionRun, fmt.Errorf("--migrate-to: expected postgres://user:password@host:port/database (a PostgreSQL URL), got %q", redactURL(u))
		}
		cfg.MigrateTo = u
		return cfg, ActionMigrateTo, nil
	}
	if r.orgTest {
		if cfg.OrgCmd == "" {
			return nil, ActionRun, errors.New("--org-test needs --org-cmd: the tests start the organizer for each test")
		}
		return cfg, ActionOrgTest, nil
	}
	return cfg, ActionRun, nil
}

func envName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// setValue applies a file or environment value with the Debian wrapper's
// rules: "true" switches a flag on, "false" leaves it off.
func setValue(fs *pflag.FlagSet, name, value string) error {
	f := fs.Lookup(name)
	switch f.Value.Type() {
	case "bool":
		switch strings.ToLower(value) {
		case "true", "1", "yes", "on":
			value = "true"
		case "false", "0", "no", "off", "":
			value = "false"
		default:
			return fmt.Errorf("%s: expected true or false, got %q", name, value)
		}
	case "count":
		switch strings.ToLower(value) {
		case "true", "yes", "on":
			value = "1"
		case "false", "no", "off", "":
			value = "0"
		default:
			if n, err := strconv.Atoi(value); err != nil || n < 0 {
				return fmt.Errorf("%s: expected true, false or a level number, got %q", name, value)
			}
		}
	}
	if err := fs.Set(name, value); err != nil {
		return fmt.Errorf("%s: invalid value %q: %w", name, value, errors.Unwrap(err))
	}
	return nil
}

func (r *raw) validate() (*Config, error) {
	c := &Config{
		Host:        strings.TrimSpace(r.host),
		Port:        r.port,
		Workers:     r.workers,
		BitrateMbps: r.bitrate,
		Migrate:     r.migrate,
		Debug:       r.debug,
		JSONLog:     r.json,
		DefaultUser: strings.TrimSpace(r.defaultUser),
		OrgCmd:      strings.TrimSpace(r.orgCmd),
		OrgInURI:    strings.TrimSpace(r.orgInURI),
		OrgOutTCP:   strings.TrimSpace(r.orgOutTCP),
		ConfigFile:  r.configFile,
		ClientConf:  strings.TrimSpace(r.clientConf),
		WebDir:      strings.TrimSpace(r.webDir),
		LiveConfig:  strings.TrimSpace(r.liveConfig),

		SMTPURL:             strings.TrimSpace(r.smtpURL),
		SMTPFrom:            strings.TrimSpace(r.smtpFrom),
		WebhookAllowPrivate: r.webhookAllowPrivate,
	}
	if strings.TrimSpace(r.dataDir) == "" && r.orgTest {
		// The organizer tests make their own data directories.
		r.dataDir = os.TempDir()
	}
	if strings.TrimSpace(r.dataDir) == "" {
		return nil, errors.New("--data-dir is required (directory for the database and media)")
	}
	abs, err := filepath.Abs(strings.TrimSpace(r.dataDir))
	if err != nil {
		return nil, fmt.Errorf("--data-dir %q: %w", r.dataDir, err)
	}
	c.DataDir = abs

	if u := strings.TrimRight(strings.TrimSpace(r.urlBase), "/"); u != "" {
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return nil, fmt.Errorf("--url-base %q: must be an absolute http:// or https:// URL", r.urlBase)
		}
		c.URLBase = u
	}
	if c.Port < 0 || c.Port > 65535 {
		return nil, fmt.Errorf("--port %d: must be between 0 and 65535", c.Port)
	}
	if c.Host == "" {
		return nil, errors.New("--host must not be empty")
	}
	if _, err := netip.ParseAddr(strings.Trim(c.Host, "[]")); err != nil && !validHostName(c.Host) {
		return nil, fmt.Errorf("--host %q: not an IP address or host name", c.Host)
	}
	for _, o := range strings.Split(r.cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, strings.TrimRight(o, "/"))
		}
	}
	if r.poll <= 0 || r.poll > 3600 {
		return nil, fmt.Errorf("--poll %g: must be more than 0 and at most 3600 seconds", r.poll)
	}
	c.Poll = time.Duration(r.poll * float64(time.Second))
	if c.Workers < 0 {
		return nil, fmt.Errorf("--workers %d: must be 0 (one per CPU) or more", c.Workers)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if r.bitrate < 0.1 {
		return nil, fmt.Errorf("--bitrate %g: must be at least 0.1 (Mbit/s)", r.bitrate)
	}
	if lf := strings.TrimSpace(r.logFile); lf != "" && lf != "-" {
		c.LogFile = lf
	}
	if c.DefaultUser == "" {
		return nil, errors.New("--default-user must not be empty")
	}
	if c.OrgInURI != "" {
		if err := validateOrgURI(c.OrgInURI); err != nil {
			return nil, err
		}
	}
	if err := r.validateDB(c); err != nil {
		return nil, err
	}
	if c.OrgOutTCP != "" {
		if _, _, err := net.SplitHostPort(c.OrgOutTCP); err != nil {
			return nil, fmt.Errorf("--org-out-tcp %q: expected host:port, e.g. [::1]:50052: %v", c.OrgOutTCP, err)
		}
	}
	if r.wsMaxMessageMB < 1 || r.wsMaxMessageMB > 1024 {
		return nil, fmt.Errorf("--ws-max-message-mb %d: must be between 1 and 1024", r.wsMaxMessageMB)
	}
	c.WSMaxMessageBytes = int64(r.wsMaxMessageMB) << 20
	if r.wsRateLimit < 0 {
		return nil, fmt.Errorf("--ws-rate-limit %g: must be 0 (no limit) or more", r.wsRateLimit)
	}
	c.WSRateLimit = r.wsRateLimit
	if c.WebDir != "" {
		if _, err := os.Stat(filepath.Join(c.WebDir, "index.html")); err != nil {
			return nil, fmt.Errorf("--web-dir %q: no index.html there (give the directory of a built web client)", c.WebDir)
		}
	}
	if c.TrustedProxies, err = ParsePrefixes(r.trustedProxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.AllowedHosts, err = parseAllowedHosts(r.allowedHosts); err != nil {
		return nil, fmt.Errorf("--allowed-hosts: %w", err)
	}
	if strings.TrimSpace(r.allowedHosts) == "" && c.URLBase != "" {
		u, _ := url.Parse(c.URLBase) // checked above
		c.AllowedHosts = []string{strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")}
	}
	if err := r.validateMedia(c); err != nil {
		return nil, err
	}
	return c, nil
}

// validateDB checks --db-url. An organizer plugin beside it is told the
// URL (organizer.Options.DBURL); one that knows only SQLite refuses it.
func (r *raw) validateDB(c *Config) error {
	lease, err := ParseDuration(r.jobLease)
	if err != nil || lease < 3*time.Second {
		return fmt.Errorf("--job-lease %q: expected a duration of at least 3s, e.g. 30s", r.jobLease)
	}
	c.JobLease = lease
	u := strings.TrimSpace(r.dbURL)
	fan := strings.TrimSpace(r.fanoutURL)
	if u == "" {
		if r.remoteWorkers {
			return errors.New("--remote-workers: workers share the job queue through PostgreSQL; give --db-url too")
		}
		if fan != "" {
			return errors.New("--fanout-url: only instances sharing a PostgreSQL database have events to pass on; give --db-url too")
		}
		return nil
	}
	for _, one := range strings.Split(fan, ",") {
		if fan == "" {
			break
		}
		parsed, err := url.Parse(strings.TrimSpace(one))
		if err != nil || (parsed.Scheme != "nats" && parsed.Scheme != "tls") || parsed.Host == "" {
			return fmt.Errorf("--fanout-url: expected nats://host:port (a NATS server; tls:// for TLS), got %q", redactURL(strings.TrimSpace(one)))
		}
	}
	c.FanoutURL = fan
	c.RemoteWorkers = r.remoteWorkers
	if !isPostgresURL(u) {
		return fmt.Errorf("--db-url: expected postgres://user:password@host:port/database (a PostgreSQL URL), got %q", redactURL(u))
	}
	c.DBURL = u
	return nil
}

func isPostgresURL(u string) bool {
	parsed, err := url.Parse(u)
	return err == nil && (parsed.Scheme == "postgres" || parsed.Scheme == "postgresql")
}

// redactURL hides the password of a URL for messages.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	if at := strings.LastIndex(u, "@"); at >= 0 {
		return "..." + u[at:]
	}
	return u
}

// validateMedia checks the media pipeline's options.
func (r *raw) validateMedia(c *Config) error {
	var err error
	if c.UploadMaxSize, err = ParseSize(r.uploadMaxSize); err != nil {
		return fmt.Errorf("--upload-max-size %q: %w", r.uploadMaxSize, err)
	}
	if c.UploadExpiry, err = ParseDuration(r.uploadExpiry); err != nil {
		return fmt.Errorf("--upload-expiry %q: %w", r.uploadExpiry, err)
	}
	if c.UploadExpiry < time.Minute {
		return fmt.Errorf("--upload-expiry %q: must be at least 1m (uploads need time to resume)", r.uploadExpiry)
	}
	if c.SMTPURL != "" && c.SMTPFrom == "" {
		return errors.New("--smtp-url needs --smtp-from, the sender of notification e-mails")
	}
	if c.TrashRetention, err = ParseDuration(r.trashRetention); err != nil {
		return fmt.Errorf("--trash-retention %q: %w", r.trashRetention, err)
	}
	if c.TrashRetention < 0 {
		return fmt.Errorf("--trash-retention %q: must not be negative", r.trashRetention)
	}
	if s := strings.TrimSpace(r.transcodeScript); s != "" {
		abs, err := filepath.Abs(s)
		if err != nil {
			return fmt.Errorf("--transcode-script %q: %w", s, err)
		}
		st, err := os.Stat(abs)
		switch {
		case err != nil:
			return fmt.Errorf("--transcode-script %q: %w", s, errors.Unwrap(err))
		case !st.Mode().IsRegular():
			return fmt.Errorf("--transcode-script %q: not a regular file", s)
		case st.Mode().Perm()&0o111 == 0:
			return fmt.Errorf("--transcode-script %q: not executable (chmod +x it)", s)
		}
		c.TranscodeScript = abs
	}
	rungs, err := media.ParseLadder(r.hlsLadderRungs)
	if err != nil {
		return fmt.Errorf("--hls-ladder-rungs: %w", err)
	}
	if r.hlsLadder {
		c.HLSLadder = rungs
	}
	if c.MediaURL = strings.TrimSpace(r.mediaURL); c.MediaURL != "" {
		if c.MediaStore, err = objstore.ParseURL(c.MediaURL, r.getenv); err != nil {
			return err
		}
	}
	c.MediaProxy = r.mediaProxy
	if c.MediaProxy && c.MediaURL == "" {
		return errors.New("--media-proxy needs --media-url")
	}
	return nil
}

// ParseSize reads a byte count: a number with an optional K, M, G or T
// suffix (powers of 1024; "B", "iB" and "KB"-style spellings accepted).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, errors.New("expected a size such as 0, 500M, 50G or 2TiB")
	}
	return int64(f * float64(mult)), nil
}

// ParseDuration reads a Go duration ("90m", "24h") or a number of days
// ("7d"); "0" is zero.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" || t == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		f, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, errors.New("expected a duration such as 30d, 12h or 90m")
		}
		return time.Duration(f * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, errors.New("expected a duration such as 30d, 12h or 90m")
	}
	return d, nil
}

// ParsePrefixes parses a comma-separated list of CIDR networks or bare IPs.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR network nor an IP address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parseAllowedHosts reads --allowed-hosts: host names, "*.name" for
// subdomains, or "*". URLs and ports are refused with a hint, since the
// check compares host names only.
func parseAllowedHosts(list string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		switch {
		case h == "":
			continue
		case h == "*":
		case strings.Contains(h, "://"):
			u, _ := url.Parse(h)
			return nil, fmt.Errorf("%q is a URL; give its host name only (%s)", h, u.Hostname())
		case strings.Contains(h, ":"):
			if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
				continue // IP addresses are always allowed
			}
			return nil, fmt.Errorf("%q: give host names without a port (any port is allowed)", h)
		default:
			name := strings.TrimPrefix(h, "*.")
			if _, err := netip.ParseAddr(name); err == nil {
				continue
			}
			// Underscores are not in the host name syntax, but container
			// and intranet names use them and browsers accept them.
			if !validHostName(strings.ReplaceAll(name, "_", "x")) {
				return nil, fmt.Errorf("%q is not a host name (e.g. clapshot.example.com or *.example.com)", h)
			}
		}
		out = append(out, h)
	}
	return out, nil
}

func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, ch := range label {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	return true
}

func validateOrgURI(u string) error {
	if strings.HasPrefix(u, "/") || !strings.Contains(u, "://") {
		return nil // a bare Unix socket path
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("--org-in-uri %q: %w", u, err)
	}
	switch parsed.Scheme {
	case "unix", "file", "http", "https":
		return nil
	}
	return fmt.Errorf("--org-in-uri %q: unsupported scheme %q (use unix://, http:// or https://)", u, parsed.Scheme)
}

// readOnlyHint explains the usual cause of a read-only data directory when
// running as a systemd service (which sets INVOCATION_ID): with
// ProtectSystem=strict, a service may write only to its ReadWritePaths=.
func readOnlyHint(err error, dir string) string {
	if !errors.Is(err, syscall.EROFS) || os.Getenv("INVOCATION_ID") == "" {
		return ""
	}
	return fmt.Sprintf(" (a systemd service may write only to its ReadWritePaths=: run `systemctl edit clapshot-server` and add [Service] ReadWritePaths=%s)", dir)
}

// ListenAddr is the host:port the HTTP server binds.
func (c *Config) ListenAddr() string {
	return net.JoinHostPort(strings.Trim(c.Host, "[]"), strconv.Itoa(c.Port))
}

// DBPath is the SQLite database file.
func (c *Config) DBPath() string { return filepath.Join(c.DataDir, "clapshot.sqlite") }

// PrepareDataDir creates the data directory (its parent must exist) and the
// subdirectories Clapshot creates at start-up, and checks it is writable.
func (c *Config) PrepareDataDir() error {
	st, err := os.Stat(c.DataDir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("data directory %s is a file, not a directory", c.DataDir)
	case errors.Is(err, os.ErrNotExist):
		parent := filepath.Dir(c.DataDir)
		if pst, perr := os.Stat(parent); perr != nil || !pst.IsDir() {
			return fmt.Errorf("data directory %s does not exist and cannot be created: parent directory %s does not exist", c.DataDir, parent)
		}
		if err := os.Mkdir(c.DataDir, 0o755); err != nil {
			return fmt.Errorf("cannot create data directory %s: %w%s", c.DataDir, errors.Unwrap(err), readOnlyHint(err, c.DataDir))
		}
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("data directory %s is not accessible: permission denied", c.DataDir)
	case err != nil:
		return fmt.Errorf("data directory %s: %w", c.DataDir, err)
	}
	probe, err := os.CreateTemp(c.DataDir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w%s", c.DataDir, errors.Unwrap(err), readOnlyHint(err, c.DataDir))
	}
	probe.Close()
	os.Remove(probe.Name())
	for _, sub := range []string{"videos", "incoming"} {
		if err := os.MkdirAll(filepath.Join(c.DataDir, sub), 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Join(c.DataDir, sub), err)
		}
	}
	return nil
}
