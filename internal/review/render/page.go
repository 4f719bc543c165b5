package render

import (
	"context"
	"strconv"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Names of the built-in popup actions; pages (ours and organizers') refer
// to them by these names.
const (
	ActionRename = "popup_builtin_rename"
	ActionTrash  = "popup_builtin_trash"
)

// The built-in actions' scripts. The client runs them with _action_args
// (selected_items: folder-listing items, in the client's camelCase form)
// and a clapshot helper object.
const renameScript = `const item = _action_args.selected_items[0];
const current = item.mediaFile ? item.mediaFile.title : (item.folder ? item.folder.title : "");
const answer = prompt("Rename item", current);
const name = answer ? answer.trim() : "";
if (name && name !== current) {
  if (item.mediaFile) clapshot.renameMediaFile(item.mediaFile.id, name);
  else if (item.folder) clapshot.callOrganizer("rename_folder", {id: item.folder.id, new_name: name});
  else alert("This item cannot be renamed.");
}`

const trashScript = `const items = _action_args.selected_items;
let question = "Trash all " + items.length + " selected items?";
if (items.length === 1 && items[0].mediaFile) question = "Trash '" + items[0].mediaFile.title + "'?";
if (items.length === 1 && items[0].folder) question = "Trash folder '" + items[0].folder.title + "' and everything in it?";
if (confirm(question)) {
  for (const item of items) {
    if (item.mediaFile) clapshot.delMediaFile(item.mediaFile.id);
    else if (item.folder) clapshot.callOrganizer("trash_folder", {id: item.folder.id});
    else alert("This item cannot be trashed.");
  }
}`

func faIcon(classes string) *pb.Icon {
	return &pb.Icon{Src: &pb.Icon_FaClass_{FaClass: &pb.Icon_FaClass{Classes: classes}}}
}

func script(code string) *pb.ScriptCall {
	return &pb.ScriptCall{Lang: pb.ScriptCall_JAVASCRIPT, Code: code}
}

// BuiltinActions are sent to every session at connect; organizers may add
// or replace actions later.
func BuiltinActions() map[string]*pb.ActionDef {
	return map[string]*pb.ActionDef{
		ActionRename: {
			UiProps: &pb.ActionUIProps{Label: new("Rename"), Icon: faIcon("fa fa-edit"), KeyShortcut: new("F2"),
				NaturalDesc: new("Rename selected items")},
			Action: script(renameScript),
		},
		ActionTrash: {
			UiProps: &pb.ActionUIProps{Label: new("Trash"), Icon: faIcon("fa fa-trash"), KeyShortcut: new("Del"),
				NaturalDesc: new("Trash selected items")},
			Action: script(trashScript),
		},
	}
}

// FolderListing makes a folder listing of media files, each opened with
// clapshot.openMediaFile and offering the built-in rename and trash
// actions; a file without a thumbnail shows an icon for its media type.
func FolderListing(files []*pb.MediaFile) *pb.PageItem {
	items := make([]*pb.PageItem_FolderListing_Item, 0, len(files))
	for _, f := range files {
		items = append(items, folderItem(f))
	}
	return &pb.PageItem{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{
		Items: items, AllowUpload: true, AllowReordering: false,
	}}}
}

// SharedListing lists media files for a guest of a share link: each opens
// in the player, none offers an action, nothing can be uploaded.
func SharedListing(files []*pb.MediaFile) *pb.PageItem {
	items := make([]*pb.PageItem_FolderListing_Item, 0, len(files))
	for _, f := range files {
		it := folderItem(f)
		it.PopupActions = nil
		items = append(items, it)
	}
	return &pb.PageItem{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{Items: items}}}
}

// folderItem is one media file of a FolderListing.
func folderItem(f *pb.MediaFile) *pb.PageItem_FolderListing_Item {
	it := &pb.PageItem_FolderListing_Item{
		Item:         &pb.PageItem_FolderListing_Item_MediaFile{MediaFile: f},
		OpenAction:   script("clapshot.openMediaFile(" + strconv.Quote(f.Id) + ")"),
		PopupActions: []string{ActionRename, ActionTrash},
	}
	if f.GetPreviewData().GetThumbUrl() == "" {
		icon := "fa fa-circle-question"
		switch f.MediaType {
		case "audio":
			icon = "fas fa-volume-high"
		case "image":
			icon = "fas fa-image"
		case "video":
			icon = "fas fa-video"
		}
		it.Vis = &pb.PageItem_FolderListing_Item_Visualization{Icon: faIcon(icon)}
	}
	return it
}

// HomePage is Clapshot's page without an organizer, as sent (showPage):
// a heading and the user's own media, newest first (see userPages).
func (r *Renderer) HomePage(ctx context.Context, userID string, pageID *string) ([]byte, error) {
	items, err := r.pages.render(ctx, r, userID)
	if err != nil {
		return nil, err
	}
	return r.showPageJSON(items, false, pageID, new("Your Media")), nil
}

// MediaComments is the addComments message with all of a media file's
// comments, drawings inlined, reused while no comment has changed (drawing files never
// change: they are named by their content).
func (r *Renderer) MediaComments(ctx context.Context, mediaFileID string) ([]byte, error) {
	cc, err := r.db.ReadChangeCounters(ctx)
	if err != nil {
		return nil, err
	}
	if b, ok := r.commentLists.get(mediaFileID, cc.Comments); ok {
		return b, nil
	}
	comments, err := r.commentsWithDrawings(ctx, mediaFileID)
	if err != nil {
		return nil, err
	}
	b := r.encodeAddComments(comments)
	r.commentLists.put(mediaFileID, cc.Comments, b)
	return b, nil
}
