package liveconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleTOML = `
[api]
enabled = true
host = "localhost"
port = 8091
mode = "release"
verbose = "v"

[video]
host = "localhost"
port = 8090

[hls]
ms_per_segment = 4000
directory = "./hls"
window_size = 20
window_capacity = 10

[cors]
enabled = true
allow_origins = ["*"]

[on_demand]
enabled = true
idle_ms = 1500
health_check = true
health_interval_ms = 5000

[[rtsp_streams]]
guid = "0742091c-19cd-4658-9b4f-5320da160f45"
type = "rtsp"
url = "rtsp://localhost:45666/live"
output_types = ["mse", "hls"]
verbose = "v"
archive = { enabled = true, ms_per_file = 10000, type = "filesystem", directory = "custom_folder" }

[[rtsp_streams]]
guid = "not-a-uuid"
url = "rtsp://localhost:45666/b"

[[rtsp_streams]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
url = "rtsp://localhost:45664/live"
output_types = ["mse", "webrtc"]

[[rtsp_streams]]
guid = "566BFE72-1F85-4E7D-9C0A-424E6C3B29F4"
url = "rtsp://localhost:45664/c"
on_demand = false
users = ["alice"]
name = "Door"
`

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTOML(t *testing.T) {
	// A path with dots and directories (video-server panicked on these).
	f, err := Load(write(t, "conf.v2.toml", sampleTOML))
	if err != nil {
		t.Fatal(err)
	}
	if f.HLS.WindowSize != 10 || f.HLS.MsPerSegment != 4000 || f.API.Port != 8091 {
		t.Errorf("hls %+v api %+v", f.HLS, f.API)
	}
	o := f.Options()
	if o.HLS.SegmentDuration != 4*time.Second || o.IdleTimeout != 1500*time.Millisecond ||
		!o.HealthCheck || o.HealthInterval != 5*time.Second || o.HealthTimeout != 3*time.Second {
		t.Errorf("options %+v", o)
	}
	streams, errs := f.StreamConfigs()
	if len(streams) != 2 || len(errs) != 2 {
		t.Fatalf("streams %+v errors %v", streams, errs)
	}
	if !streams[0].MSE || !streams[0].HLS || streams[0].LLHLS || !streams[0].OnDemand {
		t.Errorf("first stream %+v", streams[0])
	}
	if s := streams[1]; s.ID != "566bfe72-1f85-4e7d-9c0a-424e6c3b29f4" || s.OnDemand || !s.MSE || !s.LLHLS || s.Name != "Door" || s.Users[0] != "alice" {
		t.Errorf("second stream %+v (defaults: mse + llhls, per-stream on_demand wins)", s)
	}
	for i, want := range []string{`rtsp_streams[1] (guid "not-a-uuid")`, `unknown output type "webrtc"`} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want %q", i, errs[i], want)
		}
	}
	if w := f.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v", w)
	}
}

func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"typo.toml", "[hls]\nms_per_segmnt = 1000\n", `unknown key "hls.ms_per_segmnt" (did you mean "ms_per_segment"?)`},
		{"typo2.toml", "[[rtsp_streams]]\nguid = \"x\"\nurll = \"rtsp://a/b\"\n", `"rtsp_streams.urll" (did you mean "url"?)`},
		{"section.toml", "[vidoe]\nport = 1\n", `unknown key "vidoe" (did you mean "video"?)`},
		{"syntax.toml", "[api]\nport = \n", "line 2"},
		{"type.toml", "[api]\nport = \"x\"\n", "port"},
		{"typo.json", `{"hls": {"window_sizee": 3}}`, `"window_sizee" (did you mean "window_size"?)`},
		{"syntax.json", "{\n\"api\": {\n\"port\": 1,,\n}}", "line 3"},
		{"conf.yaml", "api: {}", "must end in .toml or .json"},
		{"local.toml", "[[local_files]]\nfile = \"a.mp4\"\nlooop = true\n", `unknown key "local_files.looop" (did you mean "loop"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.name, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.name) && tc.name != "conf.yaml" {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestJSONAndDefaults(t *testing.T) {
	f, err := Load(write(t, "conf.json", `{"archive": {"enabled": true}, "rtsp_streams": [{"guid": "0742091c-19cd-4658-9b4f-5320da160f45", "url": "rtsp://a/b", "output_types": ["llhls"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.HLS.MsPerSegment != 10000 || f.HLS.Directory != "./hls" || f.HLS.WindowSize != 5 || f.HLS.WindowCapacity != 10 ||
		f.API.Port != 8091 || f.Video.Port != 8090 || f.API.Host != "localhost" || f.Pprof.Host != "127.0.0.1" || f.Pprof.Enabled ||
		f.OnDemand.IdleMs != 30000 || f.OnDemand.HealthIntervalMs != 30000 || f.OnDemand.HealthTimeoutMs != 3000 || f.Options().HealthCheck {
		t.Errorf("defaults: %+v", f)
	}
	s, errs := f.StreamConfigs()
	if len(errs) != 0 || len(s) != 1 || !s[0].LLHLS || s[0].MSE {
		t.Fatalf("%+v %v", s, errs)
	}
	if w := f.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v", w)
	}
}

// The example shipped in docs/examples loads without errors or warnings.
func TestShippedExample(t *testing.T) {
	f, err := Load("../../../docs/examples/live.toml")
	if err != nil {
		t.Fatal(err)
	}
	s, errs := f.StreamConfigs()
	if len(errs) != 0 || len(s) != 1 || !s[0].MSE || !s[0].LLHLS || !s[0].HLS || len(f.Warnings()) != 0 {
		t.Fatalf("%+v %v %v", s, errs, f.Warnings())
	}
}

// local_files: MP4 files as sources, with video-server's keys; bad
// entries name their place and are left out.
func TestLocalFiles(t *testing.T) {
	f, err := Load(write(t, "files.toml", `
[on_demand]
enabled = true
[[rtsp_streams]]
guid = "0742091c-19cd-4658-9b4f-5320da160f45"
url = "rtsp://a/b"
[[local_files]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
file = "media/lobby.mp4"
output_types = ["mse", "hls"]
loop = true
on_demand = false
name = "Lobby"
[[local_files]]
guid = "x"
file = "a.mp4"
[[local_files]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f4"
[[local_files]]
guid = "0742091c-19cd-4658-9b4f-5320da160f45"
file = "a.mp4"
[[local_files]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f5"
file = "a.mp4"
output_types = ["rtmp"]
[[local_files]]
guid = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f6"
file = "b.mp4"
`))
	if err != nil {
		t.Fatal(err)
	}
	s, errs := f.StreamConfigs()
	if len(s) != 3 || len(errs) != 4 {
		t.Fatalf("streams %+v errors %v", s, errs)
	}
	if l := s[1]; l.File != "media/lobby.mp4" || !l.Loop || l.OnDemand || !l.MSE || !l.HLS || l.LLHLS || l.Name != "Lobby" || l.URL != "" {
		t.Errorf("first file %+v", l)
	}
	if l := s[2]; l.Loop || !l.OnDemand || !l.MSE || !l.LLHLS {
		t.Errorf("file with defaults %+v (loop off, global on_demand, mse + llhls)", l)
	}
	for i, want := range []string{
		`local_files[1] (guid "x"): invalid stream id`,
		`local_files[2] (guid "566bfe72-1f85-4e7d-9c0a-424e6c3b29f4"): file is empty`,
		`local_files[3] (guid "0742091c-19cd-4658-9b4f-5320da160f45"): the same guid is used by an earlier stream`,
		`local_files[4] (guid "566bfe72-1f85-4e7d-9c0a-424e6c3b29f5"): unknown output type "rtmp"`,
	} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want %q", i, errs[i], want)
		}
	}
}
