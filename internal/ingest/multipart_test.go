package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/textproto"
	"testing"
	"testing/iotest"
)

type parsedPart struct {
	header textproto.MIMEHeader
	body   []byte
}

func parseOurs(body []byte, boundary string, bufSize int, chunked bool) ([]parsedPart, error) {
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = iotest.HalfReader(iotest.OneByteReader(r)) // worst case: tiny reads
	}
	f := newFormReader(r, boundary, bufSize)
	f.buf = make([]byte, bufSize) // below the production minimum, to hit every edge
	var out []parsedPart
	for {
		h, err := f.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var b bytes.Buffer
		if _, err := f.copyPart(&b); err != nil {
			return out, err
		}
		out = append(out, parsedPart{h, b.Bytes()})
	}
}

func parseStd(body []byte, boundary string) ([]parsedPart, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []parsedPart
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		out = append(out, parsedPart{p.Header, b})
	}
}

// Our reader must agree with mime/multipart on every body, whatever the
// buffer size and however the data arrives, including content that looks
// almost like a boundary.
func TestFormReaderAgreesWithStdlib(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	const boundary = "XyZ123boundary"
	tricky := [][]byte{
		[]byte("\r\n--XyZ123boundar"), []byte("\r\n--XyZ123boundaryX"), []byte("--XyZ123boundary"),
		[]byte("\r\n-"), []byte("\r\n"), []byte("\r"), []byte("\r\n--"),
	}
	for trial := 0; trial < 300; trial++ {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary(boundary)
		nparts := rnd.Intn(4)
		for i := 0; i < nparts; i++ {
			w, _ := mw.CreateFormFile(fmt.Sprintf("f%d", i), fmt.Sprintf("n %d.mp4", i))
			size := rnd.Intn(3000)
			var content []byte
			for len(content) < size {
				if rnd.Intn(4) == 0 {
					content = append(content, tricky[rnd.Intn(len(tricky))]...)
				} else {
					content = append(content, byte(rnd.Intn(256)))
				}
			}
			w.Write(content)
		}
		mw.Close()
		body := b.Bytes()
		if trial%3 == 0 {
			body = append([]byte("preamble\r\n"), body...)
		}
		want, werr := parseStd(body, boundary)
		for _, bs := range []int{160, 233, 4096} {
			got, err := parseOurs(body, boundary, bs, trial%2 == 0)
			if (err != nil) != (werr != nil) {
				t.Fatalf("trial %d buf %d: error %v, stdlib %v", trial, bs, err, werr)
			}
			if err != nil {
				continue // both refuse the body; what came before may differ
			}
			if len(got) != len(want) {
				t.Fatalf("trial %d buf %d: %d parts, stdlib %d", trial, bs, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i].body, want[i].body) || fmt.Sprint(got[i].header) != fmt.Sprint(want[i].header) {
					t.Fatalf("trial %d buf %d part %d differs (%d vs %d bytes)", trial, bs, i, len(got[i].body), len(want[i].body))
				}
			}
		}
	}
}

func TestFormReaderTruncatedAndMalformed(t *testing.T) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("fileupload", "a.mp4")
	w.Write(bytes.Repeat([]byte("z"), 5000))
	mw.Close()
	body := b.Bytes()
	for _, cut := range []int{10, 100, len(body) / 2, len(body) - 3} {
		if _, err := parseOurs(body[:cut], mw.Boundary(), 256, false); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want unexpected EOF", cut, err)
		}
	}
	if _, err := parseOurs([]byte("--"+mw.Boundary()+"garbage\r\n\r\nx"), mw.Boundary(), 256, false); err == nil {
		t.Error("a malformed boundary line must fail")
	}
}
