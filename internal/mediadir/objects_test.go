package mediadir

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/testsupport/s3test"
)

// The review side's drawings and subtitles in an object store: the same
// calls, names and refusals as on the disk; trash entries purged by age.
func TestObjectsDir(t *testing.T) {
	_, st, _ := s3test.MediaStore(t, "media/pre")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := &Dir{Files: Objects{Store: st}}
	const id = "0badc0de"

	img := webp("one")
	name, err := d.SaveDrawing(ctx, id, img)
	if err != nil || !IsDrawingName(name) {
		t.Fatalf("SaveDrawing: %q, %v", name, err)
	}
	if got, err := st.Read(ctx, "videos/"+id+"/drawings/"+name); err != nil || !bytes.Equal(got, img) {
		t.Fatalf("the drawing object: %q, %v", got, err)
	}
	if info, err := st.Stat(ctx, "videos/"+id+"/drawings/"+name); err != nil || info.Size != int64(len(img)) {
		t.Errorf("Stat: %+v, %v", info, err)
	}
	if again, err := d.SaveDrawing(ctx, id, img); err != nil || again != name {
		t.Errorf("same image again: %q, %v", again, err)
	}
	if got, err := d.ReadDrawing(ctx, id, name); err != nil || !bytes.Equal(got, img) {
		t.Errorf("ReadDrawing: %q, %v", got, err)
	}
	if _, err := d.ReadDrawing(ctx, id, "0123456789abcdef.webp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing drawing: %v, want fs.ErrNotExist", err)
	}
	for _, bad := range []string{"../x", "/abs", "videos/../x", "a//b"} {
		if err := (Objects{Store: st}).Write(ctx, bad, []byte("x")); !errors.Is(err, ErrBadKey) {
			t.Errorf("Write(%q): %v, want ErrBadKey", bad, err)
		}
	}

	const sid = "5ab5ab5a"
	if err := d.CheckNewSubtitle(ctx, sid, "en.srt"); !errors.Is(err, ErrNoMedia) {
		t.Fatalf("no media: %v, want ErrNoMedia", err)
	}
	if err := st.Write(ctx, "videos/"+sid+"/orig/clip.mov", []byte("video"), "video/quicktime"); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckNewSubtitle(ctx, sid, "en.srt"); err != nil {
		t.Fatalf("CheckNewSubtitle: %v", err)
	}
	vtt, err := d.SaveSubtitle(ctx, sid, "en.srt", []byte("srt"), []byte("WEBVTT"))
	if err != nil || vtt == nil || *vtt != "en.vtt" {
		t.Fatalf("SaveSubtitle: %v, %v", vtt, err)
	}
	var exists *SubtitleExistsError
	if err := d.CheckNewSubtitle(ctx, sid, "en.ass"); !errors.As(err, &exists) || !exists.WebVTT {
		t.Errorf("same conversion name: %v", err)
	}
	if skipped, err := d.RemoveSubtitle(ctx, sid, "../../orig/clip.mov", nil); err != nil || len(skipped) != 1 {
		t.Errorf("escaping name: %v, %v", skipped, err)
	}
	if skipped, err := d.RemoveSubtitle(ctx, sid, "en.srt", vtt); err != nil || len(skipped) != 0 {
		t.Fatalf("RemoveSubtitle: %v, %v", skipped, err)
	}
	keys, err := st.List(ctx, "videos/"+sid)
	if err != nil || len(keys) != 1 || keys[0] != "videos/"+sid+"/orig/clip.mov" {
		t.Errorf("after RemoveSubtitle: %q, %v", keys, err)
	}

	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, k := range []string{"videos/trash/0badc0de_20261101-100000/orig/a.mov", "videos/trash/0badc0de_20261101-100000/db_backup.json",
		"videos/trash/5ab5ab5a_20261203-110000/orig/b.mov"} {
		if err := st.Write(ctx, k, []byte("x"), ""); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := PurgeObjectTrash(ctx, st, 7*24*time.Hour, now)
	if err != nil || len(removed) != 1 {
		t.Fatalf("PurgeObjectTrash: %q, %v", removed, err)
	}
	if keys, _ := st.List(ctx, "videos/trash"); len(keys) != 1 || keys[0] != "videos/trash/5ab5ab5a_20261203-110000/orig/b.mov" {
		t.Errorf("trash left: %q", keys)
	}
}
