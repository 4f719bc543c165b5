package folders

// Guests of share links (docs/organizer-plugins.md, "Guests of share
// links"). The server describes a guest in the session: a user id
// "guest:<link>:<n>" and cookies naming the link's folder and maker. A
// guest of a folder link sees that folder and the folders below it, read
// only, as far as the link's maker could see it; which media files that
// is, only the organizer knows, so the server asks (authz_user_action)
// before every guest action on a media file and needs a yes. Guests of
// media links are the server's alone: we have no opinion.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The server's description of a guest (see internal/access: the user id
// prefix and the guest cookies). Copied here: a plugin knows the server
// only through the API.
const (
	guestIDPrefix         = "guest:"
	cookieGuestFolder     = "clapshot_guest_folder"
	cookieGuestMaker      = "clapshot_guest_created_by"
	cookieGuestMakerAdmin = "clapshot_guest_created_by_admin"
)

// folderGuest is a guest of a link to one of our folders.
type folderGuest struct {
	folderID int64
	// maker is the link's maker, as a session: what they can see is what
	// the guest can see (below the folder).
	maker *pb.UserSessionData
}

// isGuest reports whether the session is a guest's (of any link).
func isGuest(ses *pb.UserSessionData) bool {
	return strings.HasPrefix(ses.GetUser().GetId(), guestIDPrefix)
}

// guestOf reads the folder link of a guest's session: nil for users and
// for guests of media links.
func guestOf(ses *pb.UserSessionData) (*folderGuest, error) {
	if !isGuest(ses) {
		return nil, nil
	}
	c := ses.GetCookies()
	raw, ok := c[cookieGuestFolder]
	if !ok {
		return nil, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "The shared folder %q is not one of ours", raw)
	}
	return &folderGuest{folderID: id, maker: &pb.UserSessionData{
		User: &pb.UserInfo{Id: c[cookieGuestMaker]}, IsAdmin: c[cookieGuestMakerAdmin] == "true"}}, nil
}

// sharedRoot is the link's folder, if it exists and its maker can (still)
// see it.
func (g *folderGuest) sharedRoot(ctx context.Context, q querier) (*folder, error) {
	f, err := getFolder(ctx, q, g.folderID)
	if err != nil {
		return nil, status.Error(codes.NotFound, "The shared folder no longer exists")
	}
	if !canSee(f, g.maker) {
		return nil, status.Error(codes.PermissionDenied, "The shared folder is no longer its sharer's")
	}
	return f, nil
}

// subtree is the SQL of the ids of a folder and every folder below it.
const subtree = `WITH RECURSIVE sub(id) AS (
	SELECT CAST(? AS BIGINT) UNION SELECT i.subfolder_id FROM bf_folder_items i JOIN sub ON i.folder_id = sub.id WHERE i.subfolder_id IS NOT NULL)`

// hasMedia reports whether a media file is in the guest's folder or below.
func (g *folderGuest) hasMedia(ctx context.Context, q querier, mediaFileID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, subtree+` SELECT count(*) FROM bf_folder_items WHERE media_file_id = ? AND folder_id IN (SELECT id FROM sub)`,
		g.folderID, mediaFileID).Scan(&n)
	return n > 0, err
}

// pathTo is the folder path from the shared folder down to folder id, or
// an error if it is not below the shared folder.
func (g *folderGuest) pathTo(ctx context.Context, q querier, root *folder, id int64) ([]*folder, error) {
	var rev []*folder
	for cur, seen := id, map[int64]bool{}; cur != root.ID; {
		if seen[cur] || len(seen) > 1000 {
			return nil, status.Error(codes.PermissionDenied, "That folder is not in the shared folder")
		}
		seen[cur] = true
		f, err := getFolder(ctx, q, cur)
		if err != nil {
			return nil, status.Error(codes.PermissionDenied, "That folder is not in the shared folder")
		}
		rev = append(rev, f)
		var parent int64
		err = q.QueryRowContext(ctx, "SELECT folder_id FROM bf_folder_items WHERE subfolder_id = ?", cur).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, status.Error(codes.PermissionDenied, "That folder is not in the shared folder")
		} else if err != nil {
			return nil, err
		}
		cur = parent
	}
	path := []*folder{root}
	for i := len(rev) - 1; i >= 0; i-- {
		path = append(path, rev[i])
	}
	return path, nil
}

// guestAuthz answers a guest of a folder link: yes for logging in and the
// folder's page, and for any action on a media file (or its comments) in
// the folder or below it; no otherwise. The server's own rules (what the
// link's permission allows) apply as well, so a yes here never lets a
// viewer comment.
func (o *Organizer) guestAuthz(ctx context.Context, g *folderGuest, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	yes, no := true, false
	deny := func(msg string) *pb.AuthzResponse { return &pb.AuthzResponse{IsAuthorized: &no, Message: new(msg)} }
	if _, err := g.sharedRoot(ctx, o.db); err != nil {
		return deny(status.Convert(err).Message()), nil
	}
	var mediaID string
	switch op := req.GetOp().(type) {
	case *pb.AuthzUserActionRequest_OtherOp_:
		switch op.OtherOp.GetOp() {
		case pb.AuthzUserActionRequest_OtherOp_LOGIN:
			return &pb.AuthzResponse{IsAuthorized: &yes}, nil
		case pb.AuthzUserActionRequest_OtherOp_VIEW_HOME:
			// The server asks with the folder as the subject when the
			// link is made: we know this folder, and its maker sees it.
			if s := op.OtherOp.Subject; s != nil && *s != strconv.FormatInt(g.folderID, 10) {
				return deny("Not the shared folder"), nil
			}
			return &pb.AuthzResponse{IsAuthorized: &yes}, nil
		}
		return deny("Guests cannot do that"), nil
	case *pb.AuthzUserActionRequest_MediaFileOp_:
		mediaID = op.MediaFileOp.GetMediaFile().GetId()
	case *pb.AuthzUserActionRequest_CommentOp_:
		mediaID = op.CommentOp.GetComment().GetMediaFileId()
	default:
		return deny("Guests cannot do that"), nil
	}
	in, err := g.hasMedia(ctx, o.db, mediaID)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read folders: %v", err)
	}
	if !in {
		return deny("Permission denied: this media file is not in the shared folder"), nil
	}
	return &pb.AuthzResponse{IsAuthorized: &yes}, nil
}

// guestPath is the path a guest views: the shared folder, then the page
// id's folders below it (one inside the other), or just the shared folder
// if the page id is not such a path.
func (o *Organizer) guestPath(ctx context.Context, g *folderGuest, pageID string) ([]*folder, error) {
	root, err := g.sharedRoot(ctx, o.db)
	if err != nil {
		return nil, err
	}
	ids, ok := pathFromPageID(pageID)
	if !ok || len(ids) == 0 || ids[0] != root.ID {
		return []*folder{root}, nil
	}
	path, err := g.pathTo(ctx, o.db, root, ids[len(ids)-1])
	if err != nil || len(path) != len(ids) {
		return []*folder{root}, nil
	}
	for i := range ids {
		if path[i].ID != ids[i] {
			return []*folder{root}, nil
		}
	}
	return path, nil
}

// guestPage is the page of a guest: the folder's items, read only (no
// actions, no uploads, no reordering), breadcrumbs from the shared folder.
func (o *Organizer) guestPage(ctx context.Context, ses *pb.UserSessionData, g *folderGuest, path []*folder) (*pb.ClientShowPageRequest, error) {
	page, err := o.page(ctx, g.maker, path)
	if err != nil {
		return nil, err
	}
	page.Sid = ses.GetSid()
	items := page.PageItems[:0]
	for _, it := range page.PageItems {
		if l := it.GetFolderListing(); l != nil {
			l.AllowUpload, l.AllowReordering, l.PopupActions, l.MediaFileAddedAction = false, false, nil, nil
			for _, x := range l.Items {
				x.PopupActions = nil
			}
			items = append(items, it)
			break // the admin's list of homes (if the maker is one) is not shared
		}
		items = append(items, it)
	}
	page.PageItems = items
	crumbs := breadcrumbs(path)
	if len(path) < 2 {
		crumbs = "<h3>" + html.EscapeString(orUnnamed(path[0].Title)) + "</h3>"
	} else {
		crumbs = strings.Replace(crumbs, ">[Home]<", ">"+html.EscapeString(orUnnamed(path[0].Title))+"<", 1)
	}
	page.PageItems[0] = &pb.PageItem{Item: &pb.PageItem_Html{Html: crumbs}}
	return page, nil
}

// folderGuestOf is guestOf for a call only a folder link's guest may
// make.
func folderGuestOf(ses *pb.UserSessionData) (*folderGuest, error) {
	g, err := guestOf(ses)
	if err == nil && g == nil {
		err = status.Error(codes.PermissionDenied, "This share link is not to a folder")
	}
	return g, err
}

// navigateGuest is navigate_page for a guest.
func (o *Organizer) navigateGuest(ctx context.Context, ses *pb.UserSessionData, pageID string) (*pb.ClientShowPageRequest, error) {
	g, err := folderGuestOf(ses)
	if err != nil {
		return nil, err
	}
	path, err := o.guestPath(ctx, g, pageID)
	if err != nil {
		return nil, err
	}
	return o.guestPage(ctx, ses, g, path)
}

// guestCommand runs a guest's command: only open_folder, within the
// shared folder.
func (o *Organizer) guestCommand(ctx context.Context, ses *pb.UserSessionData, cmd, rawArgs string) error {
	g, err := folderGuestOf(ses)
	if err != nil {
		return err
	}
	if cmd != "open_folder" {
		return status.Errorf(codes.PermissionDenied, "Guests cannot %s", strings.ReplaceAll(cmd, "_", " "))
	}
	args, err := parseArgs(rawArgs)
	if err != nil {
		return err
	}
	id, err := intArg(args, "id")
	if err != nil {
		return err
	}
	root, err := g.sharedRoot(ctx, o.db)
	if err != nil {
		return err
	}
	path, err := g.pathTo(ctx, o.db, root, id)
	if err != nil {
		return err
	}
	page, err := o.guestPage(ctx, ses, g, path)
	if err != nil {
		return err
	}
	if _, err := o.srv().ClientShowPage(ctx, page); err != nil {
		return fmt.Errorf("client_show_page: %w", err)
	}
	return nil
}
