package render

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// drawingCache keeps drawings as data URLs. Drawing files are named by
// their content's hash and never change, so an entry never goes stale; the
// cache is cleared when it outgrows its budget.
type drawingCache struct {
	mu    sync.Mutex
	m     map[string]string // "<media id>/<file name>" -> data URL
	bytes int
	max   int
}

func (c *drawingCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[key]
	return u, ok
}

func (c *drawingCache) put(key, url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(url) > c.max {
		clear(c.m)
		c.bytes = 0
	}
	c.m[key] = url
	c.bytes += len(url)
}

// drawingURL is a stored drawing as the data URL the client shows: base64
// without padding, as Clapshot's fetch_drawing_data_into_comment.
func (r *Renderer) drawingURL(ctx context.Context, mediaFileID, name string) (string, error) {
	key := mediaFileID + "/" + name
	if u, ok := r.drawings.get(key); ok {
		return u, nil
	}
	img, err := r.media.ReadDrawing(ctx, mediaFileID, name)
	if err != nil {
		return "", err
	}
	u := "data:image/webp;base64," + base64.RawStdEncoding.EncodeToString(img)
	r.drawings.put(key, u)
	return u, nil
}

// inlineDrawings replaces the stored drawing file names of comments by
// their images, reading missing ones in parallel. A missing file keeps the
// name and marks the comment text, as in Clapshot; empty drawings and
// legacy data: URLs pass through.
func (r *Renderer) inlineDrawings(ctx context.Context, cs []*pb.Comment) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, c := range cs {
		d := c.GetDrawing()
		if d == "" || strings.HasPrefix(d, "data:") {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			u, err := r.drawingURL(ctx, c.MediaFileId, d)
			if err != nil {
				r.log.Warn("Drawing file missing", "media_file", c.MediaFileId, "comment", c.Id, "err", err)
				c.Comment += " [DRAWING NOT FOUND]"
				return
			}
			c.Drawing = &u
		}()
	}
	wg.Wait()
}
