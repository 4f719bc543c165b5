package folders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// parseArgs reads a command's JSON object of arguments.
func parseArgs(s string) (map[string]any, error) {
	var args map[string]any
	if err := json.Unmarshal([]byte(s), &args); err != nil || args == nil {
		return nil, status.Errorf(codes.InvalidArgument, "Arguments must be a JSON object, got %q", s)
	}
	return args, nil
}

// intArg reads a folder id given as a number or a numeric string (the
// client passes the ids of listing items, which are strings).
func intArg(args map[string]any, key string) (int64, error) {
	switch v := args[key].(type) {
	case float64:
		if v == float64(int64(v)) {
			return int64(v), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n, nil
		}
	case nil:
		return 0, status.Errorf(codes.InvalidArgument, "Argument '%s' is missing", key)
	}
	return 0, status.Errorf(codes.InvalidArgument, "Argument '%s' must be a folder id, got %v", key, args[key])
}

func stringArg(args map[string]any, key string) (string, error) {
	s, ok := args[key].(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", status.Errorf(codes.InvalidArgument, "Argument '%s' is missing or empty", key)
	}
	return strings.TrimSpace(s), nil
}

// CmdFromClient runs the commands of our actions: new_folder{name},
// open_folder{id}, rename_folder{id, new_name}, trash_folder{id}. Each
// ends by showing the changed page. Mistakes are shown to the user.
func (o *Organizer) CmdFromClient(ctx context.Context, req *pb.CmdFromClientRequest) (*pb.Empty, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	ses := req.GetSes()
	run := o.command
	if isGuest(ses) {
		run = o.guestCommand
	}
	if err := run(ctx, ses, req.GetCmd(), req.GetArgs()); err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	return &pb.Empty{}, nil
}

func (o *Organizer) command(ctx context.Context, ses *pb.UserSessionData, cmd, rawArgs string) error {
	args, err := parseArgs(rawArgs)
	if err != nil {
		return err
	}
	path, err := o.currentPath(ctx, ses)
	if err != nil {
		return err
	}
	switch cmd {
	case "new_folder":
		name, err := stringArg(args, "name")
		if err != nil {
			return err
		}
		if err := o.db.InTx(ctx, func(tx querier) error {
			_, err := createFolder(ctx, tx, ses, path[len(path)-1], name)
			return err
		}); err != nil {
			return err
		}
		return o.showPage(ctx, ses, path)

	case "open_folder":
		id, err := intArg(args, "id")
		if err != nil {
			return err
		}
		f, err := getFolder(ctx, o.db, id)
		if err != nil {
			return err
		}
		if !canSee(f, ses) {
			return status.Error(codes.PermissionDenied, "Cannot open another user's folder")
		}
		// Up the breadcrumbs, or one level down.
		var next []*folder
		for _, p := range path {
			next = append(next, p)
			if p.ID == id {
				break
			}
		}
		if next[len(next)-1].ID != id {
			next = append(next, f)
		}
		if err := o.setPath(ctx, ses, next); err != nil {
			return err
		}
		return o.showPage(ctx, ses, next)

	case "rename_folder":
		id, err := intArg(args, "id")
		if err != nil {
			return err
		}
		name, err := stringArg(args, "new_name")
		if err != nil {
			return err
		}
		if len(name) > 255 {
			return status.Error(codes.InvalidArgument, "Folder name too long (at most 255 bytes)")
		}
		if err := o.db.InTx(ctx, func(tx querier) error {
			f, err := getFolder(ctx, tx, id)
			if err != nil {
				return err
			}
			if !canSee(f, ses) {
				return status.Error(codes.PermissionDenied, "Cannot rename another user's folder")
			}
			_, err = tx.ExecContext(ctx, "UPDATE bf_folders SET title = ? WHERE id = ?", name, id)
			return err
		}); err != nil {
			return err
		}
		for _, p := range path {
			if p.ID == id {
				p.Title = name
			}
		}
		return o.showPage(ctx, ses, path)

	case "trash_folder":
		id, err := intArg(args, "id")
		if err != nil {
			return err
		}
		var media []string
		if err := o.db.InTx(ctx, func(tx querier) error {
			media, err = trashFolder(ctx, tx, ses, id)
			return err
		}); err != nil {
			return err
		}
		// The media files go through the server, which removes their
		// rows and moves their files to the trash.
		var failed []string
		for _, m := range media {
			if _, err := o.srv().DeleteMediaFile(ctx, &pb.DeleteMediaFileRequest{Id: m}); err != nil && status.Code(err) != codes.NotFound {
				o.log.Error("Trashing a media file of a trashed folder failed", "media_file_id", m, "err", err)
				failed = append(failed, m)
			}
		}
		o.log.Info("Folder trashed", "folder_id", id, "media_files", len(media), "user", ses.GetUser().GetId())
		if len(failed) > 0 {
			o.tell(ctx, &pb.ClientShowUserMessageRequest{
				Msg: &pb.UserMessage{Type: pb.UserMessage_ERROR, Message: fmt.Sprintf("%d media file(s) of the folder could not be trashed", len(failed)),
					Details: new(strings.Join(failed, ", "))},
				Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: ses.GetSid()}})
		}
		// If the trashed folder was on the path, go to its parent.
		for i, p := range path {
			if p.ID == id && i > 0 {
				path = path[:i]
				if err := o.setPath(ctx, ses, path); err != nil {
					return err
				}
				break
			}
		}
		if path[0].ID == id { // a home folder: it is recreated, empty
			if path, err = o.folderPath(ctx, ses, nil, false); err != nil {
				return err
			}
		}
		return o.showPage(ctx, ses, path)
	}
	return status.Errorf(codes.InvalidArgument, "Unknown organizer command: %s", cmd)
}

// MoveToFolder moves media files and folders into a folder, first in its
// order. Moving into another user's folder (which only an admin can) makes
// that user the owner of what was moved.
func (o *Organizer) MoveToFolder(ctx context.Context, req *pb.MoveToFolderRequest) (*pb.Empty, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	ses := req.GetSes()
	if isGuest(ses) {
		return nil, o.userError(ctx, ses, status.Error(codes.PermissionDenied, "Guests cannot move or reorder items"))
	}
	if len(req.GetIds()) == 0 {
		o.log.Warn("move_to_folder without items")
		return &pb.Empty{}, nil
	}
	if err := o.move(ctx, ses, req.GetDstFolderId(), req.GetIds()); err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	path, err := o.currentPath(ctx, ses)
	if err == nil {
		err = o.showPage(ctx, ses, path)
	}
	if err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	return &pb.Empty{}, nil
}

func (o *Organizer) move(ctx context.Context, ses *pb.UserSessionData, dstID string, ids []*pb.FolderItemID) error {
	dstNum, err := strconv.ParseInt(dstID, 10, 64)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "Destination folder id %q is not a number", dstID)
	}
	return o.db.InTx(ctx, func(tx querier) error {
		dst, err := getFolder(ctx, tx, dstNum)
		if err != nil {
			return status.Errorf(codes.NotFound, "Destination folder %d not found", dstNum)
		}
		if !canSee(dst, ses) {
			return status.Error(codes.PermissionDenied, "Cannot move items to another user's folder")
		}
		var top int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(min(sort_order), 0) FROM bf_folder_items WHERE folder_id = ?", dst.ID).Scan(&top); err != nil {
			return err
		}
		for _, it := range ids {
			top--
			switch {
			case it.GetFolderId() != "":
				id, err := strconv.ParseInt(it.GetFolderId(), 10, 64)
				if err != nil {
					return status.Errorf(codes.InvalidArgument, "Folder id %q is not a number", it.GetFolderId())
				}
				f, err := getFolder(ctx, tx, id)
				if err != nil {
					return err
				}
				if !canSee(f, ses) {
					return status.Error(codes.PermissionDenied, "Cannot move another user's folder")
				}
				if inside, err := isInside(ctx, tx, dst.ID, f.ID); err != nil {
					return err
				} else if inside {
					return status.Errorf(codes.InvalidArgument, "Cannot move folder '%s' into itself or one of its subfolders", f.Title)
				}
				res, err := tx.ExecContext(ctx, "UPDATE bf_folder_items SET folder_id = ?, sort_order = ? WHERE subfolder_id = ?", dst.ID, top, f.ID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return status.Errorf(codes.InvalidArgument, "Folder '%s' is a home folder and cannot be moved", f.Title)
				}
				if f.UserID != dst.UserID {
					if err := setOwner(ctx, tx, f.ID, dst.UserID); err != nil {
						return err
					}
				}
			case it.GetMediaFileId() != "":
				var owner string
				err := tx.QueryRowContext(ctx, "SELECT user_id FROM media_files WHERE id = ?", it.GetMediaFileId()).Scan(&owner)
				if errors.Is(err, sql.ErrNoRows) {
					return status.Errorf(codes.NotFound, "Media file '%s' not found", it.GetMediaFileId())
				}
				if err != nil {
					return err
				}
				if owner != ses.GetUser().GetId() && !ses.GetIsAdmin() {
					return status.Error(codes.PermissionDenied, "Cannot move another user's media file")
				}
				if owner != dst.UserID {
					if _, err := tx.ExecContext(ctx, "UPDATE media_files SET user_id = ? WHERE id = ?", dst.UserID, it.GetMediaFileId()); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO bf_folder_items (folder_id, media_file_id, sort_order) VALUES (?, ?, ?)
					ON CONFLICT (media_file_id) DO UPDATE SET folder_id = excluded.folder_id, sort_order = excluded.sort_order`,
					dst.ID, it.GetMediaFileId(), top); err != nil {
					return err
				}
			default:
				return status.Error(codes.InvalidArgument, "An item to move has neither a folder id nor a media file id")
			}
		}
		return nil
	})
}

// ReorderItems stores the order of a folder's items as the client shows
// them after a drag.
func (o *Organizer) ReorderItems(ctx context.Context, req *pb.ReorderItemsRequest) (*pb.Empty, error) {
	if err := o.ready(); err != nil {
		return nil, err
	}
	ses := req.GetSes()
	if isGuest(ses) {
		return nil, o.userError(ctx, ses, status.Error(codes.PermissionDenied, "Guests cannot move or reorder items"))
	}
	if len(req.GetIds()) == 0 {
		o.log.Warn("reorder_items without items")
		return &pb.Empty{}, nil
	}
	err := o.db.InTx(ctx, func(tx querier) error {
		raw, ok := req.GetListingData()["folder_id"]
		if !ok {
			return status.Error(codes.InvalidArgument, "No folder id in the listing; cannot reorder")
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "Folder id %q is not a number", raw)
		}
		f, err := getFolder(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canSee(f, ses) {
			return status.Error(codes.PermissionDenied, "Cannot reorder items in another user's folder")
		}
		for i, it := range req.GetIds() {
			var res sql.Result
			switch {
			case it.GetFolderId() != "":
				res, err = tx.ExecContext(ctx, "UPDATE bf_folder_items SET sort_order = ? WHERE folder_id = ? AND subfolder_id = ?", i, f.ID, it.GetFolderId())
			case it.GetMediaFileId() != "":
				res, err = tx.ExecContext(ctx, "UPDATE bf_folder_items SET sort_order = ? WHERE folder_id = ? AND media_file_id = ?", i, f.ID, it.GetMediaFileId())
			default:
				continue
			}
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				o.log.Warn("Reordered item is not in the folder; skipped", "folder_id", f.ID, "item", it.String())
			}
		}
		return nil
	})
	if err != nil {
		return nil, o.userError(ctx, ses, err)
	}
	return &pb.Empty{}, nil
}

// setPath remembers the folder path in the session's cookie.
func (o *Organizer) setPath(ctx context.Context, ses *pb.UserSessionData, path []*folder) error {
	cookies := map[string]string{}
	for k, v := range ses.GetCookies() {
		cookies[k] = v
	}
	cookies[PathCookie] = cookiePath(path)
	ses.Cookies = cookies
	if _, err := o.srv().ClientSetCookies(ctx, &pb.ClientSetCookiesRequest{Sid: ses.GetSid(), Cookies: cookies}); err != nil {
		return fmt.Errorf("client_set_cookies: %w", err)
	}
	return nil
}
