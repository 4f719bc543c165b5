package mediadir

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestURLsMatchLayout checks that every public URL names the file that
// Layout (or Files, for subtitles and drawings) puts on disk: the web
// server maps /videos/ to Layout.Videos(), so a URL that disagrees with
// the layout is a 404.
func TestURLsMatchLayout(t *testing.T) {
	dataDir := t.TempDir()
	l := Layout{DataDir: dataDir}
	const id = "1a2b3c4d"
	name := "My clip #1?.mov"
	for _, base := range []string{"", "https://r.example.com/cs"} {
		u := URLs{Base: base}
		for _, tc := range []struct {
			what string
			url  string
			path string
		}{
			{"poster", u.Thumb(id), l.Poster(id)},
			{"sheet", u.ThumbSheet(id, 10, 10), l.Sheet(id, 10, 10)},
			{"playback", u.Transcoded(id), l.VideoLink(id)},
			{"HLS ladder", u.HLSMaster(id), filepath.Join(l.HLSLink(id), HLSMaster)},
			{"original", u.Orig(id, name), filepath.Join(l.OrigDir(id), name)},
			{"subtitle original", u.SubtitleOrig(id, "a b.srt"), l.Path(key(id, subsDir, origDir, "a b.srt"))},
			{"subtitle WebVTT", u.SubtitleVTT(id, "a b.vtt"), l.Path(key(id, subsDir, "a b.vtt"))},
		} {
			rest, ok := strings.CutPrefix(tc.url, base)
			if base != "" {
				rest, ok = strings.CutPrefix(rest, "/")
			}
			if !ok || !strings.HasPrefix(rest, "videos/") {
				t.Errorf("%s (base %q): URL %q is not below %q/videos/", tc.what, base, tc.url, base)
				continue
			}
			rel, err := url.PathUnescape(rest)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dataDir, filepath.FromSlash(rel)); want != tc.path {
				t.Errorf("%s: URL %q serves %s, but the file is at %s", tc.what, tc.url, want, tc.path)
			}
			if strings.ContainsAny(rest[len("videos/"):], "#? ") {
				t.Errorf("%s: URL %q is not escaped", tc.what, tc.url)
			}
		}
	}
}

func newDir(t *testing.T) (*Dir, Layout) {
	t.Helper()
	dataDir := t.TempDir()
	return New(dataDir), Layout{DataDir: dataDir}
}

func webp(payload string) []byte { return []byte("RIFF\x00\x00\x00\x00WEBP" + payload) }

func TestDrawings(t *testing.T) {
	ctx := context.Background()
	d, l := newDir(t)
	const id = "0badc0de"
	img := webp("one")
	name, err := d.SaveDrawing(ctx, id, img)
	if err != nil {
		t.Fatal(err)
	}
	if !IsDrawingName(name) {
		t.Fatalf("stored name %q is not a drawing name", name)
	}
	p := filepath.Join(l.MediaDir(id), "drawings", name)
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, img) {
		t.Fatalf("drawing on disk at %s: %q, %v", p, got, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("drawing mode %v, want 0644 (served like the other media files)", st.Mode().Perm())
	}
	if again, err := d.SaveDrawing(ctx, id, img); err != nil || again != name {
		t.Errorf("same image saved again: %q, %v; want %q", again, err, name)
	}
	if other, _ := d.SaveDrawing(ctx, id, webp("two")); other == name {
		t.Error("two different images got the same name")
	}
	if got, err := d.ReadDrawing(ctx, id, name); err != nil || !bytes.Equal(got, img) {
		t.Errorf("ReadDrawing: %q, %v", got, err)
	}
	if _, err := d.ReadDrawing(ctx, id, "0123456789abcdef.webp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing drawing: %v, want fs.ErrNotExist", err)
	}
	for _, bad := range []string{"../../../etc/passwd", "x.webp", "0123456789ABCDEF.webp", ""} {
		if _, err := d.ReadDrawing(ctx, id, bad); err == nil {
			t.Errorf("ReadDrawing(%q) was allowed", bad)
		}
	}
	for _, badID := range []string{"..", "trash", "a/b", ""} {
		if _, err := d.SaveDrawing(ctx, badID, img); err == nil {
			t.Errorf("SaveDrawing for media id %q was allowed", badID)
		}
	}
}

func TestSubtitleFiles(t *testing.T) {
	ctx := context.Background()
	d, l := newDir(t)
	const id = "5ab5ab5a"
	if err := d.CheckNewSubtitle(ctx, id, "en.srt"); !errors.Is(err, ErrNoMedia) {
		t.Fatalf("no media directory: %v, want ErrNoMedia", err)
	}
	if err := os.MkdirAll(l.OrigDir(id), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckNewSubtitle(ctx, id, "en.srt"); err != nil {
		t.Fatalf("CheckNewSubtitle: %v", err)
	}
	vtt, err := d.SaveSubtitle(ctx, id, "en.srt", []byte("srt"), []byte("WEBVTT"))
	if err != nil || vtt == nil || *vtt != "en.vtt" {
		t.Fatalf("SaveSubtitle: %v, %v", vtt, err)
	}
	origPath := filepath.Join(l.MediaDir(id), "subs", "orig", "en.srt")
	vttPath := filepath.Join(l.MediaDir(id), "subs", "en.vtt")
	for p, want := range map[string]string{origPath: "srt", vttPath: "WEBVTT"} {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
	var exists *SubtitleExistsError
	if err := d.CheckNewSubtitle(ctx, id, "en.srt"); !errors.As(err, &exists) || exists.Name != "en.srt" || exists.WebVTT {
		t.Errorf("same name again: %v", err)
	}
	if err := d.CheckNewSubtitle(ctx, id, "en.ass"); !errors.As(err, &exists) || exists.Name != "en.vtt" || !exists.WebVTT {
		t.Errorf("same conversion name: %v", err)
	}
	// A WebVTT original is kept as it is, without a conversion.
	if vtt, err := d.SaveSubtitle(ctx, id, "trash", []byte("WEBVTT"), nil); err != nil || vtt != nil {
		t.Errorf("WebVTT subtitle named trash: %v, %v", vtt, err)
	}

	// Names from the database never lead out of the subtitle directory.
	outside := filepath.Join(l.MediaDir(id), "orig", "clip.mov")
	if err := os.WriteFile(outside, []byte("video"), 0o644); err != nil {
		t.Fatal(err)
	}
	skipped, err := d.RemoveSubtitle(ctx, id, "../../orig/clip.mov", new("../orig/clip.mov"))
	if err != nil || len(skipped) != 2 {
		t.Errorf("escaping names: skipped %v, err %v", skipped, err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("RemoveSubtitle removed a file outside subs/: %v", err)
	}
	if skipped, err := d.RemoveSubtitle(ctx, id, "en.srt", vtt); err != nil || len(skipped) != 0 {
		t.Fatalf("RemoveSubtitle: %v, %v", skipped, err)
	}
	for _, p := range []string{origPath, vttPath} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if _, err := d.RemoveSubtitle(ctx, id, "en.srt", vtt); err != nil {
		t.Errorf("removing missing files: %v", err)
	}
}

// TestSaveSubtitleLeavesNothingOnFailure: when the conversion cannot be
// written, the original written just before is removed again, so a retry
// is not refused as "already exists".
func TestSaveSubtitleLeavesNothingOnFailure(t *testing.T) {
	ctx := context.Background()
	d, l := newDir(t)
	const id = "00c0ffee"
	// A directory where the WebVTT file should go makes its rename fail.
	if err := os.MkdirAll(filepath.Join(l.MediaDir(id), "subs", "en.vtt", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SaveSubtitle(ctx, id, "en.srt", []byte("srt"), []byte("WEBVTT")); err == nil {
		t.Fatal("SaveSubtitle succeeded over a directory")
	}
	if _, err := os.Stat(filepath.Join(l.MediaDir(id), "subs", "orig", "en.srt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("original left behind: %v", err)
	}
}

func TestLocalRefusesKeysOutsideTheDataDir(t *testing.T) {
	ctx := context.Background()
	files := Local{Root: t.TempDir()}
	for _, k := range []string{"", "/etc/passwd", "../x", "..", "videos/../../x", "videos//x", "videos/./x", "a\x00b"} {
		if err := files.Write(ctx, k, []byte("x")); !errors.Is(err, ErrBadKey) {
			t.Errorf("Write(%q): %v, want ErrBadKey", k, err)
		}
		if _, err := files.Read(ctx, k); !errors.Is(err, ErrBadKey) {
			t.Errorf("Read(%q): %v, want ErrBadKey", k, err)
		}
	}
	if err := files.Write(ctx, "videos/a/b.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"videos/a/b.txt": true, "videos/a": true, "videos/b": false} {
		if ok, err := files.Exists(ctx, k); err != nil || ok != want {
			t.Errorf("Exists(%q) = %v, %v; want %v", k, ok, err, want)
		}
	}
	if err := files.Remove(ctx, "videos/a/b.txt"); err != nil {
		t.Fatal(err)
	}
	if err := files.Remove(ctx, "videos/a/b.txt"); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}
