package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/textproto"
)

// formReader streams a multipart/form-data body (RFC 7578) with large
// reads into one buffer, and hands file data to the writer straight from
// it. The standard library's mime/multipart reads through a 4 KiB window
// and copies every byte twice more, which halves upload throughput on a
// busy machine; here each byte is searched once (bytes.Index) and written
// once.
type formReader struct {
	r      io.Reader
	buf    []byte
	lo, hi int   // unread data: buf[lo:hi]
	rerr   error // first error from r

	dash    []byte // "--" + boundary
	delim   []byte // "\r\n--" + boundary
	inPart  bool
	atStart bool // no content of the current part consumed yet
	started bool // the first boundary was passed
	done    bool
}

// maxHeaderBytes bounds one part's header block.
const maxHeaderBytes = 64 << 10

var errMalformed = errors.New("multipart: malformed body")

func newFormReader(r io.Reader, boundary string, bufSize int) *formReader {
	bufSize = max(bufSize, 2*(len(boundary)+8)+maxHeaderBytes)
	return &formReader{r: r, buf: make([]byte, bufSize), dash: []byte("--" + boundary), delim: []byte("\r\n--" + boundary)}
}

// fill reads until at least want bytes are unread (or r fails).
func (f *formReader) fill(want int) {
	if f.lo > 0 && (f.hi == f.lo || len(f.buf)-f.hi < len(f.buf)/4) {
		f.hi = copy(f.buf, f.buf[f.lo:f.hi])
		f.lo = 0
	}
	for f.rerr == nil && f.hi-f.lo < want && f.hi < len(f.buf) {
		n, err := f.r.Read(f.buf[f.hi:])
		f.hi += n
		if err != nil {
			f.rerr = err
		}
	}
}

// unexpected is the error for a body that ended too soon.
func (f *formReader) unexpected() error {
	if f.rerr == nil || errors.Is(f.rerr, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return f.rerr
}

// next skips the rest of the current part and returns the next part's
// header; io.EOF after the last part.
func (f *formReader) next() (textproto.MIMEHeader, error) {
	if f.done {
		return nil, io.EOF
	}
	if !f.started {
		if err := f.skipPreamble(); err != nil {
			return nil, err
		}
		f.started = true
	} else if f.inPart {
		if _, err := f.copyPart(io.Discard); err != nil {
			return nil, err
		}
	}
	// After a boundary: "--" ends the body, else padding and CRLF.
	for {
		f.fill(2)
		if f.hi-f.lo < 2 {
			return nil, f.unexpected()
		}
		b := f.buf[f.lo:f.hi]
		switch {
		case b[0] == '-' && b[1] == '-':
			f.lo += 2
			return nil, f.closeLine()
		case b[0] == ' ' || b[0] == '\t':
			f.lo++
			continue
		case b[0] == '\r' && b[1] == '\n':
			f.lo += 2
		case b[0] == '\n':
			f.lo++
		default:
			return nil, errMalformed
		}
		break
	}
	// The header block ends with an empty line.
	for {
		if f.hi-f.lo >= 2 && f.buf[f.lo] == '\r' && f.buf[f.lo+1] == '\n' {
			f.lo += 2
			f.inPart, f.atStart = true, true
			return textproto.MIMEHeader{}, nil
		}
		if i := bytes.Index(f.buf[f.lo:f.hi], []byte("\r\n\r\n")); i >= 0 {
			block := f.buf[f.lo : f.lo+i+4]
			f.lo += i + 4
			h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
			if err != nil {
				return nil, errMalformed
			}
			f.inPart, f.atStart = true, true
			return h, nil
		}
		if f.hi-f.lo > maxHeaderBytes || f.hi-f.lo == len(f.buf) {
			return nil, errors.New("multipart: part header too large")
		}
		if f.rerr != nil {
			return nil, f.unexpected()
		}
		f.fill(f.hi - f.lo + 1)
	}
}

// closeLine checks the rest of the last boundary line ("--boundary--"
// then optional blanks and a line end; the epilogue after it is ignored).
func (f *formReader) closeLine() error {
	for {
		f.fill(2)
		b := f.buf[f.lo:f.hi]
		switch {
		case len(b) == 0 || (len(b) >= 2 && b[0] == '\r' && b[1] == '\n') || b[0] == '\n':
			f.done = true
			return io.EOF
		case b[0] == ' ' || b[0] == '\t':
			f.lo++
		case len(b) == 1 && b[0] == '\r' && f.rerr != nil:
			return errMalformed
		case len(b) == 1 && b[0] == '\r':
			continue
		default:
			return errMalformed
		}
	}
}

// skipPreamble consumes everything up to and including the first
// boundary: "--boundary" at the very start, else the first
// "\r\n--boundary" (after a preamble, which is discarded).
func (f *formReader) skipPreamble() error {
	f.fill(len(f.dash))
	if bytes.HasPrefix(f.buf[f.lo:f.hi], f.dash) {
		f.lo += len(f.dash)
		return nil
	}
	f.inPart = true
	_, err := f.copyPart(io.Discard)
	return err
}

// copyPart writes the current part's content to w and consumes its
// closing delimiter (not the rest of that boundary line).
func (f *formReader) copyPart(w io.Writer) (int64, error) {
	if !f.inPart {
		return 0, nil
	}
	var total int64
	for {
		f.fill(len(f.buf) / 2)
		window := f.buf[f.lo:f.hi]
		if f.atStart {
			// As mime/multipart: an empty part may close with "--boundary"
			// right after its header block.
			if len(window) < len(f.dash)+2 && f.rerr == nil {
				continue
			}
			f.atStart = false
			if bytes.HasPrefix(window, f.dash) && boundaryFollows(window[len(f.dash):], f.rerr != nil) == 1 {
				f.lo += len(f.dash)
				f.inPart = false
				return 0, nil
			}
		}
		end, undecided := -1, len(window)
		for from := 0; ; {
			i := bytes.Index(window[from:], f.delim)
			if i < 0 {
				break
			}
			at := from + i
			switch boundaryFollows(window[at+len(f.delim):], f.rerr != nil) {
			case 0:
				undecided = at // the next bytes say whether it is a boundary
			case -1:
				from = at + 1 // "\r\n--boundaryX" is content
				continue
			default:
				end = at
			}
			break
		}
		if end >= 0 {
			n, err := w.Write(window[:end])
			total += int64(n)
			f.lo += end + len(f.delim)
			f.inPart = false
			return total, err
		}
		// Content, except a tail that may be the start of a delimiter.
		safe := min(max(len(window)-len(f.delim)+1, 0), undecided)
		n, err := w.Write(window[:safe])
		total += int64(n)
		f.lo += safe
		if err != nil {
			return total, err
		}
		if f.rerr != nil {
			return total, f.unexpected()
		}
	}
}

// boundaryFollows says whether the bytes after "\r\n--boundary" make it
// a delimiter (+1), content (-1), or cannot tell yet (0), with the rules
// of mime/multipart: whitespace or a line end, or "--" for the last one.
func boundaryFollows(rest []byte, eof bool) int {
	if len(rest) == 0 {
		if eof {
			return 1
		}
		return 0
	}
	switch rest[0] {
	case ' ', '\t', '\r', '\n':
		return 1
	case '-':
		if len(rest) == 1 {
			if eof {
				return -1
			}
			return 0
		}
		if rest[1] == '-' {
			return 1
		}
	}
	return -1
}
