package render

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// userPages keeps each user's built-in page (all their media files) as
// encoded items, brought up to date after a write by re-reading only the
// media files written since (review_media_changes, kept by triggers, so
// writes by an organizer or another process count too). A page of 10 000
// files is then not read and encoded again because one was renamed.
type userPages struct {
	mu    sync.Mutex
	pages map[string]*userPage
	bytes int // encoded items held, all users
	max   int
}

type userPage struct {
	mu      sync.Mutex
	version int64 // the 'media' change counter the rows are current to
	rows    map[string]*pageRow
	json    []byte // the page items as sent; nil after a change
	size    int    // bytes of rows' items, as counted in userPages.bytes
}

type pageRow struct {
	added time.Time
	id    string
	item  []byte // the folder listing item
}

// fullReload is how many changed files make reading the whole page again
// cheaper than reading them one by one.
const fullReload = 2000

func newUserPages(maxBytes int) *userPages {
	return &userPages{pages: map[string]*userPage{}, max: maxBytes}
}

func (u *userPages) page(userID string) *userPage {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pages[userID]
	if p == nil {
		p = &userPage{version: -1}
		u.pages[userID] = p
	}
	return p
}

// account records a page's new size; over the budget, every other page is
// dropped (rebuilt when next asked for).
func (u *userPages) account(userID string, p *userPage, size int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes += size - p.size
	p.size = size
	if u.bytes > u.max {
		for id, other := range u.pages {
			if other != p {
				delete(u.pages, id)
				u.bytes -= other.size
			}
		}
	}
}

// render returns the page items of userID's built-in page.
func (u *userPages) render(ctx context.Context, r *Renderer, userID string) ([]byte, error) {
	p := u.page(userID)
	p.mu.Lock()
	defer p.mu.Unlock()
	// The counter is read before the rows: a write made meanwhile has a
	// higher number and is read again next time.
	cc, err := r.db.ReadChangeCounters(ctx)
	if err != nil {
		return nil, err
	}
	if p.version == cc.Media && p.json != nil {
		return p.json, nil
	}
	var changed []string
	if p.version >= 0 {
		if changed, err = r.db.MediaChangedSince(ctx, p.version); err != nil {
			return nil, err
		}
	}
	if p.version < 0 || len(changed) > fullReload {
		err = p.reload(ctx, r, userID)
	} else {
		err = p.update(ctx, r, userID, changed)
	}
	if err != nil {
		p.version, p.rows, p.json = -1, nil, nil
		return nil, err
	}
	p.version = cc.Media
	p.json = p.encode(r)
	size := len(p.json)
	for _, r := range p.rows {
		size += len(r.item)
	}
	u.account(userID, p, size)
	return p.json, nil
}

// reload reads all of the user's media files.
func (p *userPage) reload(ctx context.Context, r *Renderer, userID string) error {
	// The raw metadata can be kilobytes per file and no page shows it.
	files, err := r.db.ListMediaFilesByUserBrief(ctx, userID, store.All)
	if err != nil {
		return err
	}
	subs, err := r.db.ListSubtitlesOfUsersMedia(ctx, userID)
	if err != nil {
		return err
	}
	stacks, err := r.db.StackInfosOfUser(ctx, userID)
	if err != nil {
		return err
	}
	p.rows = make(map[string]*pageRow, len(files))
	for _, f := range files {
		if row := r.pageRow(f, subs[f.ID], stacks); row != nil {
			p.rows[f.ID] = row
		}
	}
	return nil
}

// update re-reads the changed media files: gone, or no longer the user's,
// they leave the page; new or rewritten, they are encoded again.
func (p *userPage) update(ctx context.Context, r *Renderer, userID string, changed []string) error {
	if len(changed) == 0 {
		return nil
	}
	files, err := r.db.GetMediaFilesBrief(ctx, changed)
	if err != nil {
		return err
	}
	subs, err := r.db.ListSubtitlesOfMedia(ctx, changed)
	if err != nil {
		return err
	}
	// A change to a stack counts as a change to every version in it (the
	// triggers record them all), so these are all that can move.
	stacks, err := r.db.StackInfos(ctx, changed)
	if err != nil {
		return err
	}
	for _, id := range changed {
		delete(p.rows, id)
	}
	for _, f := range files {
		if f.UserID != userID {
			continue
		}
		if row := r.pageRow(f, subs[f.ID], stacks); row != nil {
			p.rows[f.ID] = row
		}
	}
	return nil
}

// pageRow is a media file's listing item, nil for a version that does not
// stand for its stack (the page shows each stack once, as its newest ready
// version, which knows its place in the stack).
func (r *Renderer) pageRow(f store.MediaFile, subs []store.Subtitle, stacks map[string]store.StackInfo) *pageRow {
	opt := pbconv.MediaFileOptions{NoRawMetadata: true}
	if st, ok := stacks[f.ID]; ok {
		if st.Head != f.ID {
			return nil
		}
		opt.Stack = &st
	}
	m := pbconv.MediaFile(f, subs, r.urls, opt)
	return &pageRow{added: f.AddedTime, id: f.ID, item: r.json.marshal(folderItem(m))}
}

// encode assembles the page: a heading and the listing in Clapshot's
// order (newest first, then by id).
func (p *userPage) encode(r *Renderer) []byte {
	rows := make([]*pageRow, 0, len(p.rows))
	for _, r := range p.rows {
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b *pageRow) int {
		if c := b.added.Compare(a.added); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	items := make([][]byte, len(rows))
	for i, r := range rows {
		items[i] = r.item
	}
	heading := "<h2>All your media files</h2>"
	if len(rows) == 0 {
		heading = "<h2>You have no media yet.</h2>"
	}
	listing := FolderListing(nil)
	encodedListing := r.json.marshal(listing) // as protojson: no "items" when empty
	if len(items) > 0 {
		encodedListing = wrap("folderListing", withField(r.json.marshal(listing.GetFolderListing()), "items", appendList(nil, items)))
	}
	return appendList(nil, [][]byte{r.json.marshal(&pb.PageItem{Item: &pb.PageItem_Html{Html: heading}}), encodedListing})
}
