package render

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The two large messages, a page of thousands of media files and a media
// file's thousands of comments with drawings, are where protojson's
// reflective encoder costs the most. They are assembled from pieces:
// every list element is encoded on its own (and cached, keyed by its
// binary form, so an unchanged file or comment is encoded once), and a
// drawing's data URL, which never needs JSON escaping, is copied in as it
// is. The result is the same JSON (TestFastEncodingsMatchProtojson).

// jsonCache maps a message's deterministic binary encoding (hashed) to its
// JSON. It is cleared when it outgrows its budget.
type jsonCache struct {
	mu    sync.Mutex
	m     map[[32]byte][]byte
	bytes int
	max   int
}

func newJSONCache(maxBytes int) *jsonCache {
	return &jsonCache{m: map[[32]byte][]byte{}, max: maxBytes}
}

var deterministic = proto.MarshalOptions{Deterministic: true}

func (c *jsonCache) marshal(m proto.Message) []byte {
	bin, err := deterministic.Marshal(m)
	if err != nil {
		b, _ := jsonOut.Marshal(m)
		return b
	}
	key := sha256.Sum256(bin)
	c.mu.Lock()
	b, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return b
	}
	b, err = jsonOut.Marshal(m)
	if err != nil {
		return b
	}
	c.mu.Lock()
	if c.bytes+len(b) > c.max {
		clear(c.m)
		c.bytes = 0
	}
	c.m[key] = b
	c.bytes += len(b)
	c.mu.Unlock()
	return b
}

// withField inserts "key":raw as the first member of a JSON object.
func withField(obj []byte, key string, raw []byte) []byte {
	out := make([]byte, 0, len(obj)+len(key)+len(raw)+4)
	out = append(out, '{', '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	out = append(out, raw...)
	if rest := bytes.TrimSpace(obj[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, obj[1:]...)
}

func appendList(b []byte, items [][]byte) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}

// wrap puts a message's JSON under its command key: {"<key>":<json>}.
func wrap(key string, obj []byte) []byte {
	out := make([]byte, 0, len(obj)+len(key)+5)
	out = append(out, '{', '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	out = append(out, obj...)
	return append(out, '}')
}

// without is a shallow copy of m without one field.
func without[M proto.Message](m M, field protoreflect.Name) M {
	out := m.ProtoReflect().New()
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() != field {
			out.Set(fd, v)
		}
		return true
	})
	return out.Interface().(M)
}

// encodePageItems encodes page items as a JSON array; folder listings are
// built item by item through the cache.
func (r *Renderer) encodePageItems(items []*pb.PageItem) []byte {
	encoded := make([][]byte, len(items))
	for i, it := range items {
		fl := it.GetFolderListing()
		if fl == nil || len(fl.Items) == 0 {
			encoded[i] = r.json.marshal(it)
			continue
		}
		elems := make([][]byte, len(fl.Items))
		for j, e := range fl.Items {
			elems[j] = r.json.marshal(e)
		}
		listing := withField(r.json.marshal(without(fl, "items")), "items", appendList(nil, elems))
		encoded[i] = wrap("folderListing", listing)
	}
	return appendList(nil, encoded)
}

// showPageJSON assembles a showPage from encoded page items.
func (r *Renderer) showPageJSON(itemsJSON []byte, empty bool, pageID, title *string) []byte {
	obj := r.json.marshal(&pb.ServerToClientCmd_ShowPage{PageId: pageID, PageTitle: title})
	if !empty {
		obj = withField(obj, "pageItems", itemsJSON)
	}
	return wrap("showPage", obj)
}

// ShowPage encodes a showPage (an organizer's page).
func (r *Renderer) ShowPage(items []*pb.PageItem, pageID, title *string) []byte {
	return r.showPageJSON(r.encodePageItems(items), len(items) == 0, pageID, title)
}

// safeDataURL reports whether s can be copied into JSON as it is: a
// base64 data URL has no character that JSON escapes.
func safeDataURL(s string) bool {
	if !strings.HasPrefix(s, "data:") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// encodeAddComments encodes an addComments, with drawings copied in.
func (r *Renderer) encodeAddComments(cs []*pb.Comment) []byte {
	if len(cs) == 0 {
		return emptyAddComments
	}
	elems := make([][]byte, len(cs))
	for i, c := range cs {
		if d := c.GetDrawing(); safeDataURL(d) {
			elems[i] = withField(r.json.marshal(without(c, "drawing")), "drawing", []byte(`"`+d+`"`))
			continue
		}
		elems[i] = r.json.marshal(c)
	}
	return wrap("addComments", withField([]byte("{}"), "comments", appendList(nil, elems)))
}

// renderCache keeps rendered JSON (a user's home page, a media file's
// comments) together with the database change counter it was read under,
// and gives it back only while that counter has not moved.
type renderCache struct {
	mu    sync.Mutex
	m     map[string]rendered
	bytes int
	max   int
}

type rendered struct {
	version int64
	json    []byte
}

func newRenderCache(maxBytes int) *renderCache {
	return &renderCache{m: map[string]rendered{}, max: maxBytes}
}

func (c *renderCache) get(key string, version int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[key]
	if !ok || r.version != version {
		return nil, false
	}
	return r.json, true
}

func (c *renderCache) put(key string, version int64, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.json)
	}
	if c.bytes+len(b) > c.max {
		clear(c.m)
		c.bytes = 0
	}
	c.m[key] = rendered{version, b}
	c.bytes += len(b)
}
