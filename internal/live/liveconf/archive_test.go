package liveconf

import (
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/live/archive"
)

const (
	idA = "0742091c-19cd-4658-9b4f-5320da160f45"
	idB = "566bfe72-1f85-4e7d-9c0a-424e6c3b29f3"
)

// The archive keys: video-server's older enabled switch (both global and
// per stream), the newer recording/serving flags (global defaults, per
// stream overrides), inherited directory, ms_per_file, bucket and path,
// and our retention keys.
func TestArchiveSettings(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		a, b       archive.Settings // only the fields compared below
		def        archive.Settings
	}{
		{
			name: "older files: enabled globally and per stream",
			toml: `[archive]
enabled = true
directory = "/srv/mp4"
ms_per_file = 20000
[[rtsp_streams]]
guid = "` + idA + `"
url = "rtsp://a/a"
archive = { enabled = true, ms_per_file = 10000, type = "filesystem", directory = "custom" }
[[rtsp_streams]]
guid = "` + idB + `"
url = "rtsp://a/b"
`,
			a:   archive.Settings{Recording: true, Serving: true, Directory: "custom", SegmentDuration: 10 * time.Second},
			b:   archive.Settings{Recording: false, Serving: true, Directory: "/srv/mp4", SegmentDuration: 20 * time.Second},
			def: archive.Settings{Recording: false, Serving: true, Directory: "/srv/mp4", SegmentDuration: 20 * time.Second},
		},
		{
			name: "older files: the global switch off turns every stream off",
			toml: `[archive]
enabled = false
[[rtsp_streams]]
guid = "` + idA + `"
url = "rtsp://a/a"
archive = { enabled = true }
[[rtsp_streams]]
guid = "` + idB + `"
url = "rtsp://a/b"
`,
			a:   archive.Settings{Directory: "./mp4", SegmentDuration: 30 * time.Second},
			b:   archive.Settings{Directory: "./mp4", SegmentDuration: 30 * time.Second},
			def: archive.Settings{Directory: "./mp4", SegmentDuration: 30 * time.Second},
		},
		{
			name: "newer files: recording is a default, serving separate",
			toml: `[archive]
recording = true
serving = false
retention_ms = 86400000
retention_bytes = 1000000
[[rtsp_streams]]
guid = "` + idA + `"
url = "rtsp://a/a"
archive = { recording = false, serving = true, retention_bytes = 0 }
[[rtsp_streams]]
guid = "` + idB + `"
url = "rtsp://a/b"
`,
			a:   archive.Settings{Recording: false, Serving: true, Directory: "./mp4", SegmentDuration: 30 * time.Second, MaxAge: 24 * time.Hour},
			b:   archive.Settings{Recording: true, Serving: false, Directory: "./mp4", SegmentDuration: 30 * time.Second, MaxAge: 24 * time.Hour, MaxBytes: 1000000},
			def: archive.Settings{Recording: true, Serving: false, Directory: "./mp4", SegmentDuration: 30 * time.Second, MaxAge: 24 * time.Hour, MaxBytes: 1000000},
		},
		{
			name: "minio: bucket and path from minio_settings unless the stream has its own",
			toml: `[archive]
recording = true
type = "minio"
[archive.minio_settings]
host = "127.0.0.1"
port = 9000
user = "u"
password = "secret"
default_bucket = "archive"
default_path = "/var/archive_data"
[[rtsp_streams]]
guid = "` + idA + `"
url = "rtsp://a/a"
archive = { type = "minio", minio_bucket = "vod", minio_path = "cam-a" }
[[rtsp_streams]]
guid = "` + idB + `"
url = "rtsp://a/b"
archive = { type = "filesystem" }
`,
			a:   archive.Settings{Recording: true, Serving: true, Directory: "./mp4", SegmentDuration: 30 * time.Second, Storage: "minio", Bucket: "vod", Path: "cam-a"},
			b:   archive.Settings{Recording: true, Serving: true, Directory: "./mp4", SegmentDuration: 30 * time.Second, Storage: "filesystem", Bucket: "archive", Path: "/var/archive_data"},
			def: archive.Settings{Recording: true, Serving: true, Directory: "./mp4", SegmentDuration: 30 * time.Second, Storage: "minio", Bucket: "archive", Path: "/var/archive_data"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.toml), ".toml")
			if err != nil {
				t.Fatal(err)
			}
			if _, errs := f.StreamConfigs(); len(errs) != 0 {
				t.Fatal(errs)
			}
			cfg := f.ArchiveConfig()
			for _, c := range []struct {
				what      string
				got, want archive.Settings
			}{{"stream a", cfg.For(idA), tc.a}, {"stream b", cfg.For(idB), tc.b}, {"default", cfg.Default, tc.def}} {
				g, w := c.got, c.want
				if w.Storage == "" {
					w.Storage = "filesystem"
				}
				if g.Recording != w.Recording || g.Serving != w.Serving || g.Directory != w.Directory ||
					g.SegmentDuration != w.SegmentDuration || g.Storage != w.Storage || g.Bucket != w.Bucket ||
					g.Path != w.Path || g.MaxAge != w.MaxAge || g.MaxBytes != w.MaxBytes || g.PartDuration != time.Second {
					t.Errorf("%s: got %+v\nwant %+v", c.what, g, w)
				}
			}
			if strings.Contains(tc.toml, "minio_settings") {
				if cfg.S3 == nil || cfg.S3.Endpoint != "127.0.0.1:9000" || cfg.S3.SecretKey != "secret" {
					t.Errorf("s3 %+v", cfg.S3)
				}
				if strings.Contains(cfg.S3.String(), "secret") {
					t.Errorf("the S3 description shows the password: %s", cfg.S3)
				}
			}
		})
	}
}

func TestArchiveBadSettings(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown key", "[archive]\nms_per_fille = 1\n", `unknown key "archive.ms_per_fille" (did you mean "ms_per_file"?)`},
		{"unknown minio key", "[archive.minio_settings]\nhots = \"a\"\n", `unknown key "archive.minio_settings.hots" (did you mean "host"?)`},
		{"negative", "[archive]\nms_per_file = -5\n", "must not be negative"},
		{"type", "[archive]\nrecording = true\ntype = \"s3\"\n", `archive type "s3"`},
		{"minio without settings", "[archive]\nrecording = true\ntype = \"minio\"\n", "needs archive.minio_settings"},
		{"host with scheme", "[archive.minio_settings]\nhost = \"http://x\"\n", "a host name or address only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml), ".toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A stream's bad archive section skips that stream only.
	f, err := Parse([]byte(`[[rtsp_streams]]
guid = "`+idA+`"
url = "rtsp://a/a"
archive = { recording = true, type = "tape" }
[[rtsp_streams]]
guid = "`+idB+`"
url = "rtsp://a/b"
`), ".toml")
	if err != nil {
		t.Fatal(err)
	}
	s, errs := f.StreamConfigs()
	if len(s) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), `archive type "tape"`) {
		t.Errorf("streams %+v errors %v", s, errs)
	}
}
