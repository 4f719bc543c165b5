package archive

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HLS VOD of any range: a playlist with one media segment per stored
// segment, each served from its file with its decode times moved onto
// the playlist's one continuous timeline (?t=, in 90 kHz), so a player
// can seek anywhere without discontinuities. The segment's own init
// segment is its EXT-X-MAP; a new one (new codec parameters) comes with
// EXT-X-DISCONTINUITY. EXT-X-PROGRAM-DATE-TIME gives each segment's wall
// clock, EXT-X-START the requested start inside the first.

// parseVOD reads a playlist's range: start (optional: the archive's
// beginning), end or duration (optional: its end).
func parseVOD(q url.Values) (Request, error) {
	if q.Get("start") == "" {
		if q.Get("duration") != "" || q.Get("end") != "" {
			return Request{}, errors.New("duration and end need a start")
		}
		return Request{}, nil
	}
	return ParseRequest(q)
}

func ticks(d time.Duration) uint64 {
	return uint64((d.Nanoseconds()*videoTimescale + int64(time.Second)/2) / int64(time.Second))
}

// ServePlaylist answers …/vod.m3u8?start=&end= (or &duration=) with the
// stream's segments in that range; the media URLs are relative to the
// playlist (vod/<segment>). a may be nil.
func (a *Archive) ServePlaylist(w http.ResponseWriter, r *http.Request, id string) {
	st, code, msg := a.lookup(id)
	if st == nil {
		writeError(w, code, msg)
		return
	}
	req, err := parseVOD(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	segs := st.Segments(req.Start, req.End)
	if len(segs) == 0 {
		writeError(w, http.StatusNotFound, "no archive segments in this time range: "+describeRanges(st.Ranges()))
		return
	}
	var b strings.Builder
	target := 1.0
	for _, s := range segs {
		target = max(target, math.Ceil(s.Duration.Seconds()))
	}
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:%d\n", int(target))
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if off := req.Start.Sub(segs[0].Start); off > 0 {
		fmt.Fprintf(&b, "#EXT-X-START:TIME-OFFSET=%.3f,PRECISE=YES\n", off.Seconds())
	}
	var t uint64
	for i, s := range segs {
		esc := url.PathEscape(s.Name)
		if i == 0 || s.Init != segs[i-1].Init {
			if i > 0 {
				b.WriteString("#EXT-X-DISCONTINUITY\n")
			}
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"vod/%s?init=1\"\n", esc)
		}
		d := ticks(s.Duration)
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:%.3f,\nvod/%s?t=%d", s.Start.UTC().Format("2006-01-02T15:04:05.000Z"),
			s.Duration.Seconds(), esc, t)
		if s.open {
			// Still being written: only what the playlist announces.
			fmt.Fprintf(&b, "&d=%d", d)
		}
		b.WriteByte('\n')
		t += d
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, b.String())
}

// ServeSegment answers …/vod/<segment>?t= (the media, its decode times
// moved by t) and ?init=1 (its init segment). a may be nil.
func (a *Archive) ServeSegment(w http.ResponseWriter, r *http.Request, id, name string) {
	st, code, msg := a.lookup(id)
	if st == nil {
		writeError(w, code, msg)
		return
	}
	var seg *Segment
	if sid, _, ok := parseName(name); ok && sid == st.id {
		if s, ok := st.find(name); ok && (!s.open || s.Duration > 0) {
			seg = &s
		}
	}
	if seg == nil {
		writeError(w, http.StatusNotFound, "no archive segment "+strconv.Quote(name))
		return
	}
	q := r.URL.Query()
	t, err := strconv.ParseUint(q.Get("t"), 10, 63)
	if q.Get("init") == "" && err != nil {
		writeError(w, http.StatusBadRequest, "t (the segment's start on the playlist's timeline, 90 kHz) is missing or not a number")
		return
	}
	limit, _ := strconv.ParseUint(q.Get("d"), 10, 63)
	rc, err := st.Open(r.Context(), *seg)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "segment "+name+": "+err.Error())
		return
	}
	defer rc.Close()
	sr, err := openSegment(rc)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "segment "+name+": "+err.Error())
		return
	}
	w.Header().Set("Cache-Control", "max-age=3600")
	if q.Get("init") != "" {
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(sr.init)
		return
	}
	w.Header().Set("Content-Type", "video/iso.segment")
	shift := int64(t) * int64(sr.videoTS) / videoTimescale
	limit = limit * uint64(sr.videoTS) / videoTimescale
	for {
		p, err := sr.next()
		if err != nil {
			return // the end, or a torn end: what was complete is sent
		}
		if limit > 0 && p.videoBase >= limit {
			return
		}
		sr.retime(p.data, shift)
		if _, err := w.Write(p.data); err != nil {
			return
		}
	}
}
