package folders

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// PathCookie holds the folder path being viewed, as a JSON list of folder
// ids (basic_folders' cookie, so a browser keeps its place across a switch
// between the two organizers).
const PathCookie = "folder_path"

// Built-in actions of the server that listings refer to.
const (
	actionRename = "popup_builtin_rename"
	actionTrash  = "popup_builtin_trash"
)

// Our actions, defined for each session.
const (
	actionNewFolder    = "new_folder"
	actionMoveToParent = "move_to_parent"
	actionMediaAdded   = "on_media_file_added"
)

func js(code string) *pb.ScriptCall {
	return &pb.ScriptCall{Lang: pb.ScriptCall_JAVASCRIPT, Code: strings.TrimSpace(code)}
}

func faIcon(classes string) *pb.Icon {
	return &pb.Icon{Src: &pb.Icon_FaClass_{FaClass: &pb.Icon_FaClass{Classes: classes}}}
}

// actions are the scripts the web client runs for our UI: a popup item to
// make a folder, one to move items up, and the callback that puts a new
// upload into the folder it was dropped in.
func actions() map[string]*pb.ActionDef {
	return map[string]*pb.ActionDef{
		actionNewFolder: {
			UiProps: &pb.ActionUIProps{Label: new("New folder"), Icon: faIcon("fa fa-folder-plus"), NaturalDesc: new("Create a new folder")},
			Action: js(`
const name = (prompt("Name for the new folder", "") || "").trim();
if (name) clapshot.callOrganizer("new_folder", {name: name});`),
		},
		actionMoveToParent: {
			UiProps: &pb.ActionUIProps{Label: new("Move to parent"), Icon: faIcon("fa fa-arrow-turn-up"), NaturalDesc: new("Move the items up one folder")},
			Action: js(`
const listing = _action_args.listing_data || {};
if (!listing.parent_folder_id) {
  alert("This folder has no parent.");
} else {
  clapshot.moveToFolder(listing.parent_folder_id, clapshot.itemsToIDs(_action_args.selected_items), listing);
}`),
		},
		actionMediaAdded: {
			Action: js(`
const id = _action_args.media_file_id;
const listing = _action_args.listing_data || {};
if (id && listing.folder_id) {
  clapshot.moveToFolder(listing.folder_id, [{mediaFileId: id}], listing);
} else {
  console.error("on_media_file_added: no media_file_id or listing_data.folder_id", _action_args);
}`),
		},
	}
}

func openFolderJS(id int64) *pb.ScriptCall {
	return js(fmt.Sprintf(`clapshot.callOrganizer("open_folder", {id: %d});`, id))
}

func mediaIcon(mediaType string) *pb.PageItem_FolderListing_Item_Visualization {
	classes := "fas fa-question"
	switch strings.ToLower(mediaType) {
	case "video":
		classes = "fas fa-video"
	case "image":
		classes = "fas fa-image"
	case "audio":
		classes = "fas fa-volume-high"
	}
	return &pb.PageItem_FolderListing_Item_Visualization{Icon: faIcon(classes)}
}

var pageIDPattern = regexp.MustCompile(`^\d+(\.\d+)*$`)

// pathFromPageID reads a page id ("1.5.7": the folder path in the URL).
func pathFromPageID(id string) ([]int64, bool) {
	if !pageIDPattern.MatchString(id) {
		return nil, false
	}
	var out []int64
	for _, p := range strings.Split(id, ".") {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func pageID(path []*folder) string {
	parts := make([]string, len(path))
	for i, f := range path {
		parts[i] = strconv.FormatInt(f.ID, 10)
	}
	return strings.Join(parts, ".")
}

func cookiePath(path []*folder) string {
	ids := make([]int64, len(path))
	for i, f := range path {
		ids[i] = f.ID
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// folderPath is the path being viewed: explicit ids (from the page id or a
// command) or the session's cookie, always starting at the user's home.
// Unknown folders in a cookie clear it, and the user is told.
func (o *Organizer) folderPath(ctx context.Context, ses *pb.UserSessionData, ids []int64, fromCookie bool) ([]*folder, error) {
	if fromCookie {
		if c := ses.GetCookies()[PathCookie]; c != "" {
			if err := json.Unmarshal([]byte(c), &ids); err != nil {
				o.log.Warn("Unreadable folder_path cookie; showing home", "cookie", c)
				ids = nil
			}
		}
	}
	var path []*folder
	var warn *pb.UserMessage
	err := o.db.InTx(ctx, func(tx querier) error {
		root, msg, err := rootFolder(ctx, o.db, tx, ses.GetUser())
		if err != nil {
			return err
		}
		warn = msg
		found, err := getFolders(ctx, tx, ids)
		if err != nil {
			return err
		}
		if len(found) != len(uniq(ids)) {
			o.log.Warn("Unknown folder ids in the folder path; clearing it", "path", ids)
			o.clearPath(ctx, ses, "Some folders in your folder path no longer exist; showing your home folder.")
			ids = nil
		}
		for _, id := range ids {
			path = append(path, found[id])
		}
		if len(path) == 0 || path[0].ID != root.ID {
			path = append([]*folder{root}, path...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if warn != nil {
		o.tell(ctx, &pb.ClientShowUserMessageRequest{Msg: warn, Recipient: &pb.ClientShowUserMessageRequest_UserPersist{UserPersist: ses.GetUser().GetId()}})
	}
	return path, nil
}

func uniq(ids []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (o *Organizer) clearPath(ctx context.Context, ses *pb.UserSessionData, why string) {
	cookies := map[string]string{}
	for k, v := range ses.GetCookies() {
		if k != PathCookie {
			cookies[k] = v
		}
	}
	ses.Cookies = cookies
	if _, err := o.srv().ClientSetCookies(ctx, &pb.ClientSetCookiesRequest{Sid: ses.GetSid(), Cookies: cookies}); err != nil {
		o.log.Warn("client_set_cookies failed", "err", err)
	}
	if why != "" {
		o.tell(ctx, &pb.ClientShowUserMessageRequest{Msg: &pb.UserMessage{Type: pb.UserMessage_ERROR, Message: why},
			Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: ses.GetSid()}})
	}
}

// tell sends a user message; failing to is only logged.
func (o *Organizer) tell(ctx context.Context, req *pb.ClientShowUserMessageRequest) {
	if _, err := o.srv().ClientShowUserMessage(ctx, req); err != nil {
		o.log.Warn("client_show_user_message failed", "err", err)
	}
}

// breadcrumbs is the heading: links to the folders above, the current one
// in bold; the home folder is "[Home]".
func breadcrumbs(path []*folder) string {
	if len(path) < 2 {
		return "<h3>Home</h3>"
	}
	parts := make([]string, len(path))
	for i, f := range path {
		title := f.Title
		if i == 0 {
			title = "[Home]"
		}
		if title == "" {
			title = "UNNAMED"
		}
		if i == len(path)-1 {
			parts[i] = "<strong>" + html.EscapeString(title) + "</strong>"
			continue
		}
		parts[i] = fmt.Sprintf(`<a style="text-decoration: underline;" href="javascript:clapshot.callOrganizer('open_folder', {'id': %d});">%s</a>`,
			f.ID, html.EscapeString(title))
	}
	return "<h3>" + strings.Join(parts, " ▶ ") + "</h3>"
}

// mediaFiles fetches full media file records (with URLs) from the server.
// Listings do not need the raw metadata, which can be kilobytes each.
func (o *Organizer) mediaFiles(ctx context.Context, ids []string) (map[string]*pb.MediaFile, error) {
	out := map[string]*pb.MediaFile{}
	if len(ids) == 0 {
		return out, nil
	}
	res, err := o.srv().DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_Ids{Ids: &pb.IdList{Ids: ids}}})
	if err != nil {
		return nil, fmt.Errorf("DbGetMediaFiles: %w", err)
	}
	for _, m := range res.GetItems() {
		if pm := m.GetProcessingMetadata(); pm != nil && pm.FfprobeMetadataAll != nil {
			m = proto.CloneOf(m)
			m.ProcessingMetadata.FfprobeMetadataAll = nil
		}
		out[m.GetId()] = m
	}
	return out, nil
}

// showStackHeads puts, in place of each version that does not stand for
// its stack (the server's VersionStack extension), the version that does:
// a folder holds a stack, and shows its newest ready version.
func (o *Organizer) showStackHeads(ctx context.Context, media map[string]*pb.MediaFile) error {
	var need []string
	for id, m := range media {
		if h := m.GetVersionStack().GetHeadId(); h != "" && h != id && media[h] == nil {
			need = append(need, h)
		}
	}
	heads, err := o.mediaFiles(ctx, need)
	if err != nil {
		return err
	}
	for id, m := range media {
		h := m.GetVersionStack().GetHeadId()
		if h == "" || h == id {
			continue
		}
		if head := media[h]; head != nil {
			media[id] = head
		} else if head := heads[h]; head != nil {
			media[id] = head
		}
	}
	return nil
}

// page builds the folder page for a session: breadcrumbs, the current
// folder's listing and, for an admin at home, every user's home folder.
func (o *Organizer) page(ctx context.Context, ses *pb.UserSessionData, path []*folder) (*pb.ClientShowPageRequest, error) {
	cur := path[len(path)-1]
	items, err := contents(ctx, o.db, cur, ses)
	if err != nil {
		return nil, err
	}
	// Each subfolder shows up to four of its items as a preview.
	previews := map[int64][]entry{}
	need := map[string]bool{}
	for _, e := range items {
		if e.Folder == nil {
			need[e.MediaID] = true
			continue
		}
		sub, err := contents(ctx, o.db, e.Folder, ses)
		if err != nil {
			return nil, err
		}
		var media, folders []entry
		for _, s := range sub {
			if s.Folder == nil && len(media) < 4 {
				media = append(media, s)
				need[s.MediaID] = true
			} else if s.Folder != nil && len(folders) < 4 {
				folders = append(folders, s)
			}
		}
		previews[e.Folder.ID] = append(media, folders[:min(len(folders), 4-len(media))]...)
	}
	ids := make([]string, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	media, err := o.mediaFiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	if err := o.showStackHeads(ctx, media); err != nil {
		return nil, err
	}

	popup := []string{actionRename, actionTrash}
	listingData := map[string]string{"folder_id": strconv.FormatInt(cur.ID, 10)}
	if len(path) > 1 {
		popup = append(popup, actionMoveToParent)
		listingData["parent_folder_id"] = strconv.FormatInt(path[len(path)-2].ID, 10)
	}
	var listing []*pb.PageItem_FolderListing_Item
	shown := map[string]bool{} // a stack filed twice is listed once
	for _, e := range items {
		if e.Folder != nil {
			var pv []*pb.PageItem_FolderListing_Item
			for _, p := range previews[e.Folder.ID] {
				if p.Folder != nil {
					pv = append(pv, &pb.PageItem_FolderListing_Item{Item: &pb.PageItem_FolderListing_Item_Folder{
						Folder: &pb.PageItem_FolderListing_Folder{Id: strconv.FormatInt(p.Folder.ID, 10), Title: orUnnamed(p.Folder.Title)}}})
				} else if m := media[p.MediaID]; m != nil {
					pv = append(pv, &pb.PageItem_FolderListing_Item{Item: &pb.PageItem_FolderListing_Item_MediaFile{MediaFile: m}, Vis: mediaIcon(m.GetMediaType())})
				}
			}
			listing = append(listing, &pb.PageItem_FolderListing_Item{
				Item: &pb.PageItem_FolderListing_Item_Folder{Folder: &pb.PageItem_FolderListing_Folder{
					Id: strconv.FormatInt(e.Folder.ID, 10), Title: orUnnamed(e.Folder.Title), PreviewItems: pv}},
				OpenAction:   openFolderJS(e.Folder.ID),
				PopupActions: popup,
			})
			continue
		}
		m := media[e.MediaID]
		if m == nil || shown[m.GetId()] {
			continue // deleted since the listing was read, or its stack is listed
		}
		shown[m.GetId()] = true
		listing = append(listing, &pb.PageItem_FolderListing_Item{
			Item:         &pb.PageItem_FolderListing_Item_MediaFile{MediaFile: m},
			OpenAction:   js(fmt.Sprintf("clapshot.openMediaFile(%s);", strconv.Quote(m.GetId()))),
			PopupActions: popup,
			Vis:          mediaIcon(m.GetMediaType()),
		})
	}
	page := []*pb.PageItem{
		{Item: &pb.PageItem_Html{Html: breadcrumbs(path)}},
		{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{
			Items: listing, AllowReordering: true, AllowUpload: true, PopupActions: []string{actionNewFolder},
			ListingData: listingData, MediaFileAddedAction: new(actionMediaAdded),
		}}},
	}
	if len(listing) == 0 {
		page = append(page,
			&pb.PageItem{Item: &pb.PageItem_Html{Html: "<p style='margin-top: 1em;'><i class='far fa-circle-question text-blue-400'></i> Use the drop zone to <strong>upload media files</strong>, or right-click on the empty space above to <strong>create a folder</strong>.</p>"}},
			&pb.PageItem{Item: &pb.PageItem_Html{Html: "<p>After that, drag items to <strong>reorder</strong>, or drop them <strong>into folders</strong>. Hold shift to multi-select.</p>"}})
	}
	if ses.GetIsAdmin() && len(path) == 1 {
		admin, err := o.adminHomes(ctx, ses, cur)
		if err != nil {
			return nil, err
		}
		page = append(page, admin...)
	}
	return &pb.ClientShowPageRequest{Sid: ses.GetSid(), PageItems: page, PageId: new(pageID(path)), PageTitle: new(cur.Title)}, nil
}

func orUnnamed(s string) string {
	if s == "" {
		return "<UNNAMED>"
	}
	return s
}

// adminHomes lists every other user's home folder for an admin.
func (o *Organizer) adminHomes(ctx context.Context, ses *pb.UserSessionData, cur *folder) ([]*pb.PageItem, error) {
	type user struct{ id, name string }
	var users []user
	rows, err := o.db.QueryContext(ctx, "SELECT id, name FROM users WHERE id != ? ORDER BY id", ses.GetUser().GetId())
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.id, &u.name); err != nil {
			rows.Close()
			return nil, err
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var homes []*pb.PageItem_FolderListing_Item
	err = o.db.InTx(ctx, func(tx querier) error {
		for _, u := range users {
			home, _, err := rootFolder(ctx, o.db, tx, &pb.UserInfo{Id: u.id, Name: u.name})
			if err != nil {
				return err
			}
			homes = append(homes, &pb.PageItem_FolderListing_Item{
				Item: &pb.PageItem_FolderListing_Item_Folder{Folder: &pb.PageItem_FolderListing_Folder{Id: strconv.FormatInt(home.ID, 10), Title: u.id}},
				Vis: &pb.PageItem_FolderListing_Item_Visualization{
					Icon:      &pb.Icon{Src: &pb.Icon_FaClass_{FaClass: &pb.Icon_FaClass{Classes: "fas fa-user", Color: &pb.Color{R: 184, G: 160, B: 148}}}, Size: new(float32(3))},
					BaseColor: &pb.Color{R: 160, G: 100, B: 50},
				},
				PopupActions: []string{actionTrash},
				OpenAction:   openFolderJS(home.ID),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*pb.PageItem{
		{Item: &pb.PageItem_Html{Html: "<h3><strong>ADMIN</strong> – User Folders</h3>"}},
		{Item: &pb.PageItem_Html{Html: "<p>These users have a home folder or media files.<br/>Uploading files or moving items into their folders makes them the owner.<br/>Trashing a user's home folder deletes everything they have.</p>"}},
		{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{
			Items: homes, ListingData: map[string]string{"folder_id": strconv.FormatInt(cur.ID, 10)},
		}}},
	}, nil
}

// userError reports the errors a user caused (bad arguments, permission,
// name clashes) to their session and turns them into ABORTED, the API's
// "already shown to the user"; other errors pass through.
func (o *Organizer) userError(ctx context.Context, ses *pb.UserSessionData, err error) error {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.AlreadyExists, codes.NotFound, codes.FailedPrecondition:
		st := status.Convert(err)
		o.tell(ctx, &pb.ClientShowUserMessageRequest{
			Msg:       &pb.UserMessage{Type: pb.UserMessage_ERROR, Message: st.Message(), UserId: new(ses.GetUser().GetId())},
			Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: ses.GetSid()},
		})
		return status.Error(codes.Aborted, st.Message())
	}
	return err
}
