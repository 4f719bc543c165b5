// Package liveconf reads LdDl/video-server's configuration file (TOML or
// JSON, chosen by the file's extension, any path) with its keys and
// defaults, plus a few keys of our own (stream names, access lists,
// transport, pprof, reconnect timing). Unknown keys are errors that name
// the key, so a typo never silently changes the setup.
package liveconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/clapshot-go/clapshot/internal/live"
)

// File is the whole configuration file.
type File struct {
	API      Server   `toml:"api" json:"api"`
	Video    Server   `toml:"video" json:"video"`
	HLS      HLS      `toml:"hls" json:"hls"`
	Archive  Archive  `toml:"archive" json:"archive"`
	CORS     CORS     `toml:"cors" json:"cors"`
	OnDemand OnDemand `toml:"on_demand" json:"on_demand"`
	// LLHLS and Engine are ours: Low-Latency HLS and session timing.
	LLHLS  LLHLS  `toml:"llhls" json:"llhls"`
	Engine Engine `toml:"engine" json:"engine"`
	// Pprof is ours: profiling endpoints, off unless enabled.
	Pprof   Pprof    `toml:"pprof" json:"pprof"`
	Streams []Stream `toml:"rtsp_streams" json:"rtsp_streams"`
	// LocalFiles is video-server's MP4-file sources (localfiles.go).
	LocalFiles []LocalFile `toml:"local_files" json:"local_files"`

	// Path is the file the values were read from.
	Path string `toml:"-" json:"-"`
}

// Server is the api or video section.
type Server struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Host    string `toml:"host" json:"host"`
	Port    int    `toml:"port" json:"port"`
	// Mode is gin's "release"/"debug"; accepted, "debug" logs requests.
	Mode string `toml:"mode" json:"mode"`
	// Verbose is "", "v", "vv" or "vvv".
	Verbose string `toml:"verbose" json:"verbose"`
}

// HLS is classic HLS.
type HLS struct {
	MsPerSegment   int64  `toml:"ms_per_segment" json:"ms_per_segment"`
	Directory      string `toml:"directory" json:"directory"`
	WindowSize     uint   `toml:"window_size" json:"window_size"`
	WindowCapacity uint   `toml:"window_capacity" json:"window_capacity"`
}

// CORS is gin-contrib/cors's settings.
type CORS struct {
	Enabled          bool     `toml:"enabled" json:"enabled"`
	AllowOrigins     []string `toml:"allow_origins" json:"allow_origins"`
	AllowMethods     []string `toml:"allow_methods" json:"allow_methods"`
	AllowHeaders     []string `toml:"allow_headers" json:"allow_headers"`
	ExposeHeaders    []string `toml:"expose_headers" json:"expose_headers"`
	AllowCredentials bool     `toml:"allow_credentials" json:"allow_credentials"`
}

// OnDemand is the global on-demand setting.
type OnDemand struct {
	Enabled bool  `toml:"enabled" json:"enabled"`
	IdleMs  int64 `toml:"idle_ms" json:"idle_ms"`
	// HealthCheck probes idle on-demand cameras with a bare DESCRIBE
	// every HealthIntervalMs (default 30000), each given HealthTimeoutMs
	// (default 3000).
	HealthCheck      bool  `toml:"health_check" json:"health_check"`
	HealthIntervalMs int64 `toml:"health_interval_ms" json:"health_interval_ms"`
	HealthTimeoutMs  int64 `toml:"health_timeout_ms" json:"health_timeout_ms"`
}

// LLHLS configures Low-Latency HLS (output type "llhls").
type LLHLS struct {
	MsPerSegment int64 `toml:"ms_per_segment" json:"ms_per_segment"`
	MsPerPart    int64 `toml:"ms_per_part" json:"ms_per_part"`
	SegmentCount int   `toml:"segment_count" json:"segment_count"`
}

// Engine is session timing.
type Engine struct {
	ReconnectMinMs    int64 `toml:"reconnect_min_ms" json:"reconnect_min_ms"`
	ReconnectMaxMs    int64 `toml:"reconnect_max_ms" json:"reconnect_max_ms"`
	KeyframeTimeoutMs int64 `toml:"keyframe_timeout_ms" json:"keyframe_timeout_ms"`
	ReadTimeoutMs     int64 `toml:"read_timeout_ms" json:"read_timeout_ms"`
}

// Pprof serves /debug/pprof on its own listener when enabled.
type Pprof struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Host    string `toml:"host" json:"host"` // default 127.0.0.1
	Port    int    `toml:"port" json:"port"` // default 6060
}

// Stream is one rtsp_streams entry.
type Stream struct {
	GUID        string        `toml:"guid" json:"guid"`
	Type        string        `toml:"type" json:"type"`
	URL         string        `toml:"url" json:"url"`
	OutputTypes []string      `toml:"output_types" json:"output_types"`
	Verbose     string        `toml:"verbose" json:"verbose"`
	Archive     StreamArchive `toml:"archive" json:"archive"`
	OnDemand    *bool         `toml:"on_demand" json:"on_demand"`
	// Ours.
	Name       string   `toml:"name" json:"name"`
	Transport  string   `toml:"transport" json:"transport"`
	Users      []string `toml:"users" json:"users"`
	AdminsOnly bool     `toml:"admins_only" json:"admins_only"`
}

// Load reads and checks a configuration file.
func Load(path string) (*File, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".toml" && ext != ".json" {
		return nil, fmt.Errorf("live config %s: the file name must end in .toml or .json (the format is chosen by it)", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("live config: %w", err)
	}
	f, err := Parse(b, strings.ToLower(filepath.Ext(path)))
	if err != nil {
		return nil, fmt.Errorf("live config %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// Parse decodes a file's bytes; ext is ".toml" or ".json".
func Parse(b []byte, ext string) (*File, error) {
	f := &File{}
	switch ext {
	case ".toml":
		md, err := toml.Decode(string(b), f)
		if err != nil {
			return nil, err
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, unknownKey(und[0].String())
		}
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f); err != nil {
			return nil, jsonError(b, err)
		}
	default:
		return nil, fmt.Errorf("unknown file type %q: the name must end in .toml or .json", ext)
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// unknownKey names the key and, when one is close, the key meant.
func unknownKey(key string) error {
	parts := strings.Split(key, ".")
	last := parts[len(parts)-1]
	return suggest(key, last, keysAt(reflect.TypeOf(File{}), parts[:len(parts)-1]))
}

// suggest reports an unknown key with the closest known one, if close.
func suggest(key, last string, known []string) error {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(last, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Errorf("unknown key %q", key)
}

// keysAt lists the keys allowed under a path of the file's structure.
func keysAt(t reflect.Type, path []string) []string {
	for _, p := range path {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for i := range t.NumField() {
			if strings.Split(t.Field(i).Tag.Get("toml"), ",")[0] == p {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found && !isIndex(p) {
			return nil
		}
	}
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if k := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]; k != "" && k != "-" {
			out = append(out, k)
		}
	}
	return out
}

// allKeys lists every key at every level.
func allKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if k := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]; k != "" && k != "-" {
			out = append(out, k)
			out = append(out, allKeys(t.Field(i).Type)...)
		}
	}
	return out
}

func isIndex(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// distance is the Levenshtein distance, for "did you mean".
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// jsonError adds the line number to a JSON error.
func jsonError(b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		// encoding/json does not say where the field was: compare with
		// every key of the file.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return suggest(name, name, allKeys(reflect.TypeOf(File{})))
	}
	if off >= 0 && off <= int64(len(b)) {
		return fmt.Errorf("line %d: %w", bytes.Count(b[:off], []byte("\n"))+1, err)
	}
	return err
}

// check applies video-server's defaults and refuses what cannot work.
func (f *File) check() error {
	if f.HLS.MsPerSegment <= 0 {
		f.HLS.MsPerSegment = 10000
	}
	if f.HLS.Directory == "" {
		f.HLS.Directory = "./hls"
	}
	if f.HLS.WindowCapacity == 0 {
		f.HLS.WindowCapacity = 10
	}
	if f.HLS.WindowSize == 0 {
		f.HLS.WindowSize = 5
	}
	f.HLS.WindowSize = min(f.HLS.WindowSize, f.HLS.WindowCapacity)
	f.OnDemand.defaults()
	for _, s := range []*Server{&f.API, &f.Video} {
		if s.Host == "" {
			s.Host = "localhost"
		}
		if s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("port %d: must be between 0 and 65535", s.Port)
		}
	}
	if f.API.Port == 0 {
		f.API.Port = 8091
	}
	if f.Video.Port == 0 {
		f.Video.Port = 8090
	}
	if f.Pprof.Host == "" {
		f.Pprof.Host = "127.0.0.1"
	}
	if f.Pprof.Port == 0 {
		f.Pprof.Port = 6060
	}
	if f.Engine.ReconnectMaxMs < 0 || f.Engine.ReconnectMinMs < 0 || f.Engine.KeyframeTimeoutMs < 0 {
		return errors.New("engine timings must not be negative")
	}
	return f.checkArchive()
}

// Options turns the file into engine options.
func (f *File) Options() live.Options {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	opt := live.Options{
		HLS: live.HLSOptions{
			SegmentDuration: ms(f.HLS.MsPerSegment), WindowSize: int(f.HLS.WindowSize), Directory: f.HLS.Directory,
		},
		LLHLS: live.LLHLSOptions{
			SegmentDuration: ms(f.LLHLS.MsPerSegment), PartDuration: ms(f.LLHLS.MsPerPart), SegmentCount: f.LLHLS.SegmentCount,
		},
		ReconnectMin:    ms(f.Engine.ReconnectMinMs),
		ReconnectMax:    ms(f.Engine.ReconnectMaxMs),
		KeyframeTimeout: ms(f.Engine.KeyframeTimeoutMs),
		ReadTimeout:     ms(f.Engine.ReadTimeoutMs),
	}
	f.OnDemand.options(&opt)
	return opt
}

// StreamError is a stream entry that cannot be used; the other streams
// still start.
type StreamError struct {
	Section string // "rtsp_streams" ("") or "local_files"
	Index   int    // position in the section, from 0
	GUID    string // as written
	Err     error
}

func (e *StreamError) Error() string {
	section := e.Section
	if section == "" {
		section = "rtsp_streams"
	}
	return fmt.Sprintf("%s[%d] (guid %q): %v", section, e.Index, e.GUID, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

// OutputTypes parses output type names ("mse", "hls", "llhls").
func OutputTypes(names []string, cfg *live.StreamConfig) error {
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "mse":
			cfg.MSE = true
		case "hls":
			cfg.HLS = true
		case "llhls", "ll-hls":
			cfg.LLHLS = true
		default:
			return fmt.Errorf("unknown output type %q (mse, hls or llhls)", n)
		}
	}
	return nil
}

// StreamConfigs converts the rtsp_streams entries; bad entries come back
// as errors (and are left out), so one typo does not stop every camera.
func (f *File) StreamConfigs() ([]live.StreamConfig, []*StreamError) {
	var out []live.StreamConfig
	var errs []*StreamError
	seen := map[string]bool{}
	for i, s := range f.Streams {
		fail := func(err error) { errs = append(errs, &StreamError{Index: i, GUID: s.GUID, Err: err}) }
		id, err := live.NormalizeID(s.GUID)
		if err != nil {
			fail(err)
			continue
		}
		if seen[id] {
			fail(errors.New("the same guid is used by an earlier stream"))
			continue
		}
		if s.Type != "" && !strings.EqualFold(s.Type, "rtsp") {
			fail(fmt.Errorf("type %q: only rtsp sources are supported", s.Type))
			continue
		}
		if !strings.HasPrefix(strings.ToLower(s.URL), "rtsp://") && !strings.HasPrefix(strings.ToLower(s.URL), "rtsps://") {
			fail(errors.New("url must start with rtsp:// or rtsps://"))
			continue
		}
		if t := strings.ToLower(s.Transport); !slices.Contains([]string{"", "auto", "tcp", "udp"}, t) {
			fail(fmt.Errorf("transport %q: must be tcp, udp or auto", s.Transport))
			continue
		}
		cfg := live.StreamConfig{ID: id, Name: s.Name, URL: s.URL, Transport: s.Transport, Users: s.Users, AdminsOnly: s.AdminsOnly}
		if err := f.demandAndOutputs(&cfg, s.OnDemand, s.OutputTypes); err != nil {
			fail(err)
			continue
		}
		if _, err := f.streamArchive(s); err != nil {
			fail(err)
			continue
		}
		seen[id] = true
		out = append(out, cfg)
	}
	return f.localFileConfigs(seen, out, errs)
}

// Warnings lists accepted keys that do nothing here: none at present
// (every video-server key is implemented); the front doors log any.
func (f *File) Warnings() []string { return nil }
