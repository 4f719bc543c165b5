package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/store"
)

// ingestSpec is an ingest job's spec.
type ingestSpec struct {
	// Path is upload/<uuid>/<stored name>: where the file is ingested
	// from. Its base name (mediadir.StoredName of the user's name) is the
	// media file's orig_filename.
	Path string `json:"path"`
	// Title is the name the user gave the file (mediadir.Title), shown as
	// the media file's title. Jobs recorded before it existed have none:
	// the base name of Path is used.
	Title string `json:"title,omitempty"`
	// From, if set, is where the file is until the job moves it to Path:
	// the incoming/ file, or a finished upload's temporary name. The job
	// row exists before the move, so a crash in between loses nothing.
	From     string            `json:"from,omitempty"`
	UserID   string            `json:"user_id"`
	UserName string            `json:"user_name,omitempty"`
	Cookies  map[string]string `json:"cookies"`
	Source   string            `json:"source"` // upload | tus | incoming
	// MediaID is set once computed, so a resumed job finds its file.
	MediaID string `json:"media_id,omitempty"`
	// VersionOf, if set, is the media file this one is a new version of.
	VersionOf string `json:"version_of,omitempty"`
}

// MarshalJSON keeps From exact: it names a file in incoming/ as the
// user named it, which need not be UTF-8 (JSON would replace such bytes,
// and the job would then look for a file that does not exist).
func (s ingestSpec) MarshalJSON() ([]byte, error) {
	type plain ingestSpec
	out := struct {
		plain
		FromBytes []byte `json:"from_bytes,omitempty"`
	}{plain: plain(s)}
	if !utf8.ValidString(s.From) {
		out.FromBytes, out.From = []byte(s.From), ""
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *ingestSpec) UnmarshalJSON(b []byte) error {
	type plain ingestSpec
	var in struct {
		plain
		FromBytes []byte `json:"from_bytes,omitempty"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*s = ingestSpec(in.plain)
	if in.FromBytes != nil {
		s.From = string(in.FromBytes)
	}
	return nil
}

// title is what the media file is called for the user.
func (s ingestSpec) title() string {
	if s.Title != "" {
		return s.Title
	}
	return filepath.Base(s.Path)
}

// Upload is a file handed to the pipeline.
type Upload struct {
	// Path is the file, in its own directory under upload/ (see
	// NewUploadDir), under the name the server chose for it
	// (mediadir.StoredName): one that ingest and serving use unchanged.
	Path string
	// Title is the user's name for the file (mediadir.Title).
	Title string
	// From, if set, is moved to Path by the job (after it is recorded).
	From     string
	UserID   string
	UserName string
	Cookies  map[string]string
	Source   string
	// VersionOf, if set, makes the file the newest version of that media
	// file's stack (see CheckVersionTarget).
	VersionOf string
}

// NewUploadDir creates upload/<uuid>/ for one file. Cleanup leaves it
// alone until done is called; by then the file must be submitted.
func (p *Pipeline) NewUploadDir() (dir string, done func(), err error) {
	dir = filepath.Join(p.l.Upload(), mediadir.NewUUID())
	done = p.beginUpload(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		done()
		return "", nil, fmt.Errorf("cannot create an upload directory in %s: %w", p.l.Upload(), err)
	}
	return dir, done, nil
}

// Submit queues files for ingestion, all or none (one transaction).
func (p *Pipeline) Submit(ctx context.Context, uploads ...Upload) error {
	err := p.db.InTx(ctx, func(q Queries) error {
		for _, u := range uploads {
			if u.Cookies == nil {
				u.Cookies = map[string]string{}
			}
			spec := ingestSpec{Path: u.Path, Title: u.Title, From: u.From, UserID: u.UserID, UserName: u.UserName, Cookies: u.Cookies,
				Source: u.Source, VersionOf: u.VersionOf}
			if _, err := q.InsertJob(ctx, store.Job{Kind: KindIngest, UserID: u.UserID, Spec: encodeSpec(spec)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue upload: %w", err)
	}
	for range uploads {
		wake(p.ingestWake)
	}
	return nil
}

// MediaID computes Clapshot's media file id for the file at path: the
// first 8 hex digits of SHA-256 over the file name, the user id, the size
// (8 bytes, big-endian), the upload cookies sorted by key then value (key
// bytes, value bytes) and the first 32 KiB of the content. The same file,
// user and cookies give the same id in both servers.
func MediaID(path, userID string, cookies map[string]string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(filepath.Base(path)))
	h.Write([]byte(userID))
	var size [8]byte
	binary.BigEndian.PutUint64(size[:], uint64(st.Size()))
	h.Write(size[:])
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(cookies))
	for k, v := range cookies {
		pairs = append(pairs, kv{k, v})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	for _, c := range pairs {
		h.Write([]byte(c.k))
		h.Write([]byte(c.v))
	}
	if _, err := io.Copy(h, io.LimitReader(f, 32*1024)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:8], nil
}

// CheckFileName validates a file name given by a client: one path
// component, not empty, at most 255 bytes (what a file system allows).
// Anything else is accepted: the file is stored under
// mediadir.StoredName(name) and shown as mediadir.Title(name). The message
// is shown to the user.
func CheckFileName(name string) error {
	switch {
	case name == "":
		return errors.New("the file has no name")
	case strings.ContainsAny(name, "/\\"):
		return errors.New("Filename must not contain path")
	case name == "." || name == "..":
		return fmt.Errorf("invalid file name %q", mediadir.Title(name))
	case len(name) > 255:
		return errors.New("the file name is longer than 255 bytes")
	}
	return nil
}
