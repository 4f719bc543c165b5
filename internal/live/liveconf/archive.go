package liveconf

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/clapshot-go/clapshot/internal/live"
	"github.com/clapshot-go/clapshot/internal/live/archive"
)

// Archive is video-server's archive section. Its older files switch
// recording with enabled, and a stream records only when its own
// archive.enabled is on too; newer ones with recording, a default that a
// stream's archive.recording overrides, and serving (ranges and
// playback) separately. Serving defaults to on where recording is.
type Archive struct {
	Enabled       *bool         `toml:"enabled" json:"enabled"`
	Recording     *bool         `toml:"recording" json:"recording"`
	Serving       *bool         `toml:"serving" json:"serving"`
	Directory     string        `toml:"directory" json:"directory"`
	MsPerFile     int64         `toml:"ms_per_file" json:"ms_per_file"`
	MinioSettings MinioSettings `toml:"minio_settings" json:"minio_settings"`
	// Ours.
	Type           string `toml:"type" json:"type"`
	MsPerPart      int64  `toml:"ms_per_part" json:"ms_per_part"`
	RetentionMs    int64  `toml:"retention_ms" json:"retention_ms"`
	RetentionBytes int64  `toml:"retention_bytes" json:"retention_bytes"`
}

// MinioSettings is the S3-compatible object store.
type MinioSettings struct {
	Host          string `toml:"host" json:"host"`
	Port          int    `toml:"port" json:"port"`
	User          string `toml:"user" json:"user"`
	Password      string `toml:"password" json:"password"`
	DefaultBucket string `toml:"default_bucket" json:"default_bucket"`
	DefaultPath   string `toml:"default_path" json:"default_path"`
	// Ours: video-server always spoke plain http.
	TLS                bool   `toml:"tls" json:"tls"`
	CAFile             string `toml:"ca_file" json:"ca_file"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify" json:"insecure_skip_verify"`
	Region             string `toml:"region" json:"region"`
}

// StreamArchive is a stream's archive section: what it sets overrides the
// global one.
type StreamArchive struct {
	Enabled     *bool  `toml:"enabled" json:"enabled"`
	Recording   *bool  `toml:"recording" json:"recording"`
	MsPerFile   int64  `toml:"ms_per_file" json:"ms_per_file"`
	Type        string `toml:"type" json:"type"`
	Directory   string `toml:"directory" json:"directory"`
	MinioBucket string `toml:"minio_bucket" json:"minio_bucket"`
	MinioPath   string `toml:"minio_path" json:"minio_path"`
	// Ours.
	Serving        *bool  `toml:"serving" json:"serving"`
	MsPerPart      int64  `toml:"ms_per_part" json:"ms_per_part"`
	RetentionMs    *int64 `toml:"retention_ms" json:"retention_ms"`
	RetentionBytes *int64 `toml:"retention_bytes" json:"retention_bytes"`
}

func orBool(vs ...*bool) *bool {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func isTrue(v *bool) bool { return v != nil && *v }

// checkArchive refuses a global archive section that cannot work.
func (f *File) checkArchive() error {
	a := f.Archive
	if a.MsPerFile < 0 || a.MsPerPart < 0 {
		return errors.New("archive: ms_per_file and ms_per_part must not be negative")
	}
	if _, err := f.defaultArchive(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if _, err := f.s3(); err != nil {
		return fmt.Errorf("archive.minio_settings: %w", err)
	}
	return nil
}

// defaultArchive is the settings of a stream without an archive section
// (and of streams added through the API).
func (f *File) defaultArchive() (archive.Settings, error) {
	return f.streamArchive(Stream{})
}

// streamArchive resolves one stream's settings.
func (f *File) streamArchive(s Stream) (archive.Settings, error) {
	g, sa := f.Archive, s.Archive
	globalOn := isTrue(orBool(g.Recording, g.Enabled))
	var recording bool
	switch {
	case sa.Recording != nil:
		recording = *sa.Recording // the newer key overrides the global default
	case sa.Enabled != nil:
		recording = *sa.Enabled && globalOn // video-server's older files: both must be on
	default:
		recording = isTrue(g.Recording)
	}
	serving := recording || globalOn
	if v := orBool(sa.Serving, g.Serving); v != nil {
		serving = *v
	}
	if sa.MsPerFile < 0 || sa.MsPerPart < 0 {
		return archive.Settings{}, errors.New("archive: ms_per_file and ms_per_part must not be negative")
	}
	set := archive.Settings{
		Recording: recording, Serving: serving,
		Directory:       first(sa.Directory, g.Directory),
		SegmentDuration: time.Duration(firstInt(sa.MsPerFile, g.MsPerFile)) * time.Millisecond,
		PartDuration:    time.Duration(firstInt(sa.MsPerPart, g.MsPerPart)) * time.Millisecond,
		Storage:         strings.ToLower(first(sa.Type, g.Type)),
		Bucket:          first(sa.MinioBucket, g.MinioSettings.DefaultBucket),
		Path:            first(sa.MinioPath, g.MinioSettings.DefaultPath),
		MaxAge:          time.Duration(g.RetentionMs) * time.Millisecond,
		MaxBytes:        g.RetentionBytes,
	}
	if sa.RetentionMs != nil {
		set.MaxAge = time.Duration(*sa.RetentionMs) * time.Millisecond
	}
	if sa.RetentionBytes != nil {
		set.MaxBytes = *sa.RetentionBytes
	}
	if strings.EqualFold(set.Storage, archive.StorageMinio) && (set.Recording || set.Serving) && g.MinioSettings.Host == "" {
		return set, errors.New("archive type minio needs archive.minio_settings (host, port, user, password)")
	}
	return set, set.Check()
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstInt(vs ...int64) int64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// s3 is the object store's connection, nil when minio_settings is empty.
func (f *File) s3() (*archive.S3, error) {
	m := f.Archive.MinioSettings
	if m.Host == "" {
		return nil, nil
	}
	if strings.Contains(m.Host, "/") {
		return nil, fmt.Errorf("host %q: a host name or address only (use tls = true for https)", m.Host)
	}
	if m.Port < 0 || m.Port > 65535 {
		return nil, fmt.Errorf("port %d: must be between 1 and 65535", m.Port)
	}
	port := m.Port
	if port == 0 {
		port = 9000 // MinIO's
	}
	return &archive.S3{
		Endpoint: net.JoinHostPort(m.Host, strconv.Itoa(port)), AccessKey: m.User, SecretKey: m.Password,
		TLS: m.TLS, CAFile: m.CAFile, InsecureSkipVerify: m.InsecureSkipVerify, Region: m.Region,
	}, nil
}

// ArchiveConfig is the archive of every stream that StreamConfigs
// accepts, plus the defaults for the others.
func (f *File) ArchiveConfig() archive.Config {
	def, _ := f.defaultArchive() // checked at load
	cfg := archive.Config{Default: def, Streams: map[string]archive.Settings{}}
	cfg.S3, _ = f.s3()
	for _, s := range f.Streams {
		id, err := live.NormalizeID(s.GUID)
		if err != nil {
			continue
		}
		if _, dup := cfg.Streams[id]; dup {
			continue
		}
		if set, err := f.streamArchive(s); err == nil {
			cfg.Streams[id] = set
		}
	}
	return cfg
}
