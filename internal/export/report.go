package export

import (
	"bufio"
	"encoding/base64"
	"html"
	"html/template"
	"strings"
	"time"
)

// reportTemplate is a self-contained page: images are inlined as data:
// URLs so the file can be mailed or archived as it is, and the print
// style keeps each comment on one page, so a browser's "Save as PDF"
// gives a PDF report.
var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Review comments: {{.Title}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1f23;margin:2rem auto;max-width:60rem;padding:0 1rem}
header{border-bottom:2px solid #1d1f23;margin-bottom:1.5rem}
h1{font-size:1.5rem;margin:0 0 .3rem}
.meta{color:#555;margin:.2rem 0 1rem}
article{display:grid;grid-template-columns:minmax(0,22rem) 1fr;gap:1rem;padding:1rem 0;border-bottom:1px solid #ddd;break-inside:avoid;page-break-inside:avoid}
article.untimed{grid-template-columns:1fr}
.frame{position:relative;background:#111;aspect-ratio:{{.Aspect}};border-radius:4px;overflow:hidden}
.frame img{position:absolute;inset:0;width:100%;height:100%;object-fit:contain}
.frame .none{position:absolute;inset:0;display:grid;place-items:center;color:#999;font-size:.85rem}
.tc{font:600 1rem ui-monospace,Menlo,Consolas,monospace}
.who{font-weight:600}
.when{color:#666;font-size:.85rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0}
.reply{border-left:3px solid #ccd;padding-left:.6rem;margin:.4rem 0}
footer{color:#777;font-size:.8rem;margin-top:2rem}
@media print{body{margin:0;max-width:none}article{grid-template-columns:18rem 1fr}}
</style></head><body>
<header><h1>{{.Title}}</h1>
<p class="meta">{{.Summary}}</p></header>
{{range .Comments}}<article{{if not .Timed}} class="untimed"{{end}} id="comment-{{.ID}}">
{{if .Timed}}<div class="frame">{{if .Frame}}{{.Frame}}{{else}}<span class="none">no frame image</span>{{end}}{{if .Drawing}}{{.Drawing}}{{end}}</div>{{end}}
<div><div><span class="tc">{{if .Timed}}{{.Timecode}}{{else}}No timecode{{end}}</span>{{if .Frames}} <span class="when">({{.Frames}})</span>{{end}}</div>
<div><span class="who">{{.Author}}</span> <span class="when">{{.Created}}</span></div>
<p class="text">{{.Text}}</p>
{{range .Replies}}<div class="reply" style="margin-left:{{.Indent}}rem"><span class="who">{{.Author}}</span> <span class="when">{{.Created}}</span><p class="text">{{.Text}}</p></div>
{{end}}</div></article>
{{else}}<p>No comments.</p>
{{end}}<footer>Exported {{.Exported}}. Timecodes at {{.Rate}} fps{{if .Start}}, starting at {{.Start}}{{end}}.</footer>
</body></html>
`))

type reportComment struct {
	ID               int64
	Timed            bool
	Timecode, Frames string
	Author, Created  string
	Text             string
	// Frame and Drawing are whole <img> elements (see imgTag).
	Frame, Drawing template.HTML
	Replies        []reportReply
}

type reportReply struct {
	Author, Created, Text string
	Indent                float64
}

func writeReport(w *bufio.Writer, m Media, cs []Comment, opt Options) error {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }
	aspect := "16/9"
	if m.Width > 0 && m.Height > 0 {
		aspect = itoa(int64(m.Width)) + "/" + itoa(int64(m.Height))
	}
	data := struct {
		Title, Summary, Exported, Rate, Start string
		Aspect                                template.CSS
		Comments                              []reportComment
	}{
		Title:    displayTitle(m),
		Exported: stamp(now),
		Rate:     m.Rate.Label(),
		Aspect:   template.CSS(aspect),
		Comments: make([]reportComment, 0, len(cs)),
	}
	if m.Start != 0 {
		data.Start = m.timecode(0)
	}
	// The same frame or drawing under several comments (the same bytes:
	// callers share one slice per image) is encoded once.
	type imgKey struct {
		first *byte
		n     int
		alt   string
	}
	tags := map[imgKey]template.HTML{}
	img := func(mime, alt string, b []byte) template.HTML {
		key := imgKey{&b[0], len(b), alt}
		t, ok := tags[key]
		if !ok {
			t = imgTag(mime, alt, b)
			tags[key] = t
		}
		return t
	}
	replies := 0
	for _, c := range cs {
		rc := reportComment{ID: c.ID, Author: c.Author, Created: stamp(c.Created), Text: c.Text}
		if c.Frame != nil {
			in, length := c.span(m)
			rc.Timed = true
			rc.Timecode = m.timecode(in)
			rc.Frames = "frame " + itoa(in)
			if c.EndFrame != nil {
				rc.Timecode += " – " + m.timecode(in+length-1)
				rc.Frames = "frames " + itoa(in) + "–" + itoa(in+length-1)
			}
			if b := opt.Frames[in]; len(b) > 0 {
				rc.Frame = img("image/jpeg", "Frame at "+m.timecode(in), b)
			}
			if len(c.Drawing) > 0 {
				rc.Drawing = img("image/webp", "Drawing", c.Drawing)
			}
		}
		for _, r := range c.Replies {
			rc.Replies = append(rc.Replies, reportReply{Author: r.Author, Created: stamp(r.Created), Text: r.Text,
				Indent: float64(r.Depth-1) * 1.2})
		}
		replies += len(c.Replies)
		data.Comments = append(data.Comments, rc)
	}
	var sum []string
	sum = append(sum, plural(len(cs), "comment"), plural(replies, "reply"))
	if m.FileName != "" {
		sum = append(sum, "file "+m.FileName)
	}
	if m.Frames > 0 {
		sum = append(sum, "duration "+m.timecode(m.Frames)+" ("+itoa(m.Frames)+" frames)")
	}
	data.Summary = strings.Join(sum, " · ")
	return reportTemplate.Execute(w, data)
}

// imgTag is an <img> with the image inlined as a data: URL. It is built
// here, not by html/template, whose contextual escaping would scan every
// byte of megabytes of base64 that cannot need it: the URL is only the
// fixed prefix and base64's alphabet, the alt text is escaped.
func imgTag(mime, alt string, b []byte) template.HTML {
	var sb strings.Builder
	sb.Grow(base64.StdEncoding.EncodedLen(len(b)) + len(alt) + 64)
	sb.WriteString(`<img alt="`)
	sb.WriteString(html.EscapeString(alt))
	sb.WriteString(`" src="data:`)
	sb.WriteString(mime)
	sb.WriteString(`;base64,`)
	sb.WriteString(base64.StdEncoding.EncodeToString(b))
	sb.WriteString(`">`)
	return template.HTML(sb.String())
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return itoa(int64(n)) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return itoa(int64(n)) + " " + word + "s"
}
