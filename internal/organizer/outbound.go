package organizer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Clients is what the plugin's calls need from the websocket layer;
// review.Hub implements it. Unknown session ids give errors wrapping
// review.ErrNoSession.
type Clients interface {
	SendToSession(sid string, cmd *pb.ServerToClientCmd) error
	SendToUser(userID string, cmd *pb.ServerToClientCmd) int
	SendToMediaFile(mediaFileID string, cmd *pb.ServerToClientCmd) int
	SendToCollab(collabID string, cmd *pb.ServerToClientCmd) int
	SessionData(sid string) (*pb.UserSessionData, error)
	// OpenMediaFile opens a media file in a session's player without a
	// permission check.
	OpenMediaFile(ctx context.Context, sid, mediaFileID string) error
	// Sessions lists the live sessions; UserSessions the ids of a user's.
	Sessions() []*pb.UserSessionData
	UserSessions(userID string) []string
}

// Backend is the rest of the server as the plugin's calls see it.
type Backend struct {
	DB      Store
	Clients Clients
	URLs    mediadir.URLs
	// Trash deletes a media file the way a user's trash does (row,
	// db_backup.json, move to videos/trash); a missing one is
	// store.ErrNotFound.
	Trash func(ctx context.Context, mediaFileID string) error
}

// outbound serves OrganizerOutbound: the plugin's calls to the server.
// Errors are gRPC statuses: INVALID_ARGUMENT for malformed requests,
// NOT_FOUND for unknown sessions and rows, INTERNAL for the rest.
type outbound struct {
	pb.UnimplementedOrganizerOutboundServer
	m *Manager
}

var empty = &pb.Empty{}

func (o *outbound) backend() (*Backend, error) {
	b := o.m.backend.Load()
	if b == nil {
		return nil, status.Error(codes.Unavailable, "the server is still starting")
	}
	return b, nil
}

func (o *outbound) Handshake(_ context.Context, info *pb.OrganizerInfo) (*pb.Empty, error) {
	o.m.log.Debug("Organizer handshake received", "name", info.GetName())
	o.m.receivedHandshake(info)
	return empty, nil
}

// toClient sends a command to one session. As in Clapshot, a session that
// is gone is not an error for these fire-and-forget UI calls: the user may
// have closed the page while the plugin worked, and plugins' self-tests
// use made-up session ids.
func (o *outbound) toClient(sid string, cmd *pb.ServerToClientCmd) (*pb.Empty, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	if sid == "" {
		return nil, status.Error(codes.InvalidArgument, "sid is empty")
	}
	if err := b.Clients.SendToSession(sid, cmd); err != nil {
		o.m.log.Debug("Organizer call for a session that is not connected", "sid", sid, "err", err)
	}
	return empty, nil
}

func (o *outbound) ClientDefineActions(_ context.Context, req *pb.ClientDefineActionsRequest) (*pb.Empty, error) {
	return o.toClient(req.GetSid(), &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_DefineActions_{
		DefineActions: &pb.ServerToClientCmd_DefineActions{Actions: req.GetActions()}}})
}

// ClientShowPage passes the page through as data: the client renders it,
// so HTML or odd items from a plugin cannot break the session here.
func (o *outbound) ClientShowPage(_ context.Context, req *pb.ClientShowPageRequest) (*pb.Empty, error) {
	return o.toClient(req.GetSid(), &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowPage_{
		ShowPage: &pb.ServerToClientCmd_ShowPage{PageItems: req.GetPageItems(), PageId: req.PageId, PageTitle: req.PageTitle}}})
}

func (o *outbound) ClientSetCookies(_ context.Context, req *pb.ClientSetCookiesRequest) (*pb.Empty, error) {
	return o.toClient(req.GetSid(), &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_SetCookies_{
		SetCookies: &pb.ServerToClientCmd_SetCookies{Cookies: req.GetCookies(), ExpireTime: req.GetExpireTime()}}})
}

func (o *outbound) ClientOpenMediaFile(ctx context.Context, req *pb.ClientOpenMediaFileRequest) (*pb.Empty, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	if err := b.Clients.OpenMediaFile(ctx, req.GetSid(), req.GetId()); err != nil {
		if _, serr := b.Clients.SessionData(req.GetSid()); serr != nil {
			return nil, status.Errorf(codes.NotFound, "no session %q", req.GetSid())
		}
		return nil, dbStatus(fmt.Errorf("open media file %q: %w", req.GetId(), err))
	}
	return empty, nil
}

// ClientShowUserMessage delivers a message to a session, a user (stored
// with user_persist), a media file's watchers or a collab room.
func (o *outbound) ClientShowUserMessage(ctx context.Context, req *pb.ClientShowUserMessageRequest) (*pb.Empty, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	in := req.GetMsg()
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "no message (msg) given")
	}
	refs := refsOf(in)
	commentID, err := parseOptionalID("refs.comment_id", refs.CommentId)
	if err != nil {
		return nil, err
	}
	subtitleID, err := parseOptionalID("refs.subtitle_id", refs.SubtitleId)
	if err != nil {
		return nil, err
	}
	msg := &pb.UserMessage{
		Type:     in.GetType(),
		Message:  in.GetMessage(),
		Details:  in.Details,
		Progress: in.Progress,
		Refs: &pb.UserMessage_Refs{
			MediaFileId: refs.MediaFileId,
			CommentId:   rowid.FormatPtr(commentID),
			SubtitleId:  rowid.FormatPtr(subtitleID),
		},
	}
	cmd := userMessageCmd(msg)
	switch r := req.GetRecipient().(type) {
	case *pb.ClientShowUserMessageRequest_Sid:
		ses, err := b.Clients.SessionData(r.Sid)
		if err != nil {
			return nil, status.Errorf(codes.NotFound, "no session %q", r.Sid)
		}
		msg.UserId = new(ses.GetUser().GetId())
		_ = b.Clients.SendToSession(r.Sid, cmd)
	case *pb.ClientShowUserMessageRequest_UserTemp:
		msg.UserId = new(r.UserTemp)
		b.Clients.SendToUser(r.UserTemp, cmd)
	case *pb.ClientShowUserMessageRequest_UserPersist:
		// Stored first (seen if the user has a session), so a client that
		// reacts to the message by listing its messages finds it.
		msg.UserId = new(r.UserPersist)
		row := store.Message{
			UserID:      r.UserPersist,
			Seen:        len(b.Clients.UserSessions(r.UserPersist)) > 0,
			MediaFileID: msg.Refs.MediaFileId,
			CommentID:   commentID,
			SubtitleID:  subtitleID,
			EventName:   pbconv.EventName(msg.GetType()),
			Message:     msg.GetMessage(),
			Details:     msg.GetDetails(),
		}
		if _, err := b.DB.InsertMessage(ctx, row); err != nil {
			return nil, dbStatus(fmt.Errorf("store message for %q: %w", r.UserPersist, err))
		}
		b.Clients.SendToUser(r.UserPersist, cmd)
	case *pb.ClientShowUserMessageRequest_MediaFileId:
		b.Clients.SendToMediaFile(r.MediaFileId, cmd)
	case *pb.ClientShowUserMessageRequest_CollabSession:
		b.Clients.SendToCollab(r.CollabSession, cmd)
	default:
		return nil, status.Error(codes.InvalidArgument, "no recipient given (sid, user_temp, user_persist, media_file_id or collab_session)")
	}
	return empty, nil
}

// DeleteMediaFile trashes a media file as a user's delete does, without a
// permission check or a notification.
func (o *outbound) DeleteMediaFile(ctx context.Context, req *pb.DeleteMediaFileRequest) (*pb.Empty, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "media file id is empty")
	}
	if b.Trash == nil {
		return nil, status.Error(codes.Unimplemented, "deleting media files is not available in this server")
	}
	if err := b.Trash(ctx, req.GetId()); err != nil {
		return nil, dbStatus(fmt.Errorf("delete media file %q: %w", req.GetId(), err))
	}
	o.m.log.Info("Organizer trashed a media file", "media_file_id", req.GetId())
	return empty, nil
}

// ---- database calls ----

// page converts the optional paging of a Db* request; none means
// everything, as in Clapshot.
func page(p *pb.DbPaging) (store.Page, error) {
	if p == nil {
		return store.All, nil
	}
	if p.GetPageSize() == 0 {
		return store.Page{}, status.Error(codes.InvalidArgument, "paging.page_size must be > 0")
	}
	return store.Page{Num: int(p.GetPageNum()), Size: int(p.GetPageSize())}, nil
}

// pageSlice pages a list in memory, for the id filters.
func pageSlice[T any](items []T, p store.Page) []T {
	if p.Size <= 0 {
		return items
	}
	start := min(len(items), p.Num*p.Size)
	return items[start:min(len(items), start+p.Size)]
}

// inOrder returns rows in the order of the requested ids (the database
// gives them in its own order), without duplicates.
func inOrder[T any, K comparable](rows []T, ids []K, key func(T) K) []T {
	by := make(map[K]T, len(rows))
	for _, r := range rows {
		by[key(r)] = r
	}
	out := make([]T, 0, len(rows))
	for _, id := range ids {
		if r, ok := by[id]; ok {
			out = append(out, r)
			delete(by, id)
		}
	}
	return out
}

// dbRequest starts a Db* call: the backend and the page asked for.
func (o *outbound) dbRequest(p *pb.DbPaging) (*Backend, store.Page, error) {
	b, err := o.backend()
	if err != nil {
		return nil, store.Page{}, err
	}
	pg, err := page(p)
	return b, pg, err
}

// byIDs is the ids filter of integer-keyed rows: parse, fetch, put in the
// requested order, page.
func byIDs[T any](ctx context.Context, what string, ids []string, pg store.Page,
	get func(context.Context, []int64) ([]T, error), key func(T) int64) ([]T, error) {
	nums, err := parseIDs(what, ids)
	if err != nil {
		return nil, err
	}
	rows, err := get(ctx, nums)
	if err != nil {
		return nil, err
	}
	return pageSlice(inOrder(rows, nums, key), pg), nil
}

func convert[T, P any](rows []T, f func(T) P) []P {
	out := make([]P, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func parseIDs(what string, ids []string) ([]int64, error) {
	out := make([]int64, len(ids))
	for i, s := range ids {
		id, err := rowid.Parse(what, s)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		out[i] = id
	}
	return out, nil
}

func parseOptionalID(what string, s *string) (*int64, error) {
	id, err := rowid.ParsePtr(what, s)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return id, nil
}

// dbStatus maps a store error to a gRPC status as Clapshot does.
func dbStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, store.ErrNotFound) {
		return status.Errorf(codes.NotFound, "DB item not found (on Server): %v", err)
	}
	return status.Errorf(codes.Internal, "DB error (on Server): %v", err)
}

func missingFilter(kinds string) error {
	return status.Errorf(codes.InvalidArgument, "missing 'filter' field (one of %s)", kinds)
}

// mediaFiles converts rows with their subtitles and URLs.
func (b *Backend) mediaFiles(ctx context.Context, q Queries, rows []store.MediaFile) ([]*pb.MediaFile, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	subs, err := q.ListSubtitlesByMediaFiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	stacks, err := q.StackInfos(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*pb.MediaFile, len(rows))
	for i, r := range rows {
		opt := pbconv.MediaFileOptions{}
		if st, ok := stacks[r.ID]; ok {
			opt.Stack = &st
		}
		out[i] = pbconv.MediaFile(r, subs[r.ID], b.URLs, opt)
	}
	return out, nil
}

func (o *outbound) DbGetMediaFiles(ctx context.Context, req *pb.DbGetMediaFilesRequest) (*pb.DbMediaFileList, error) {
	b, pg, err := o.dbRequest(req.Paging)
	if err != nil {
		return nil, err
	}
	var rows []store.MediaFile
	switch f := req.GetFilter().(type) {
	case *pb.DbGetMediaFilesRequest_All:
		// A version stack is one item: the version standing for it.
		rows, err = b.DB.ListStackHeads(ctx, pg)
	case *pb.DbGetMediaFilesRequest_Ids:
		ids := f.Ids.GetIds()
		if rows, err = b.DB.GetMediaFiles(ctx, ids); err == nil {
			rows = pageSlice(inOrder(rows, ids, func(m store.MediaFile) string { return m.ID }), pg)
		}
	case *pb.DbGetMediaFilesRequest_UserId:
		rows, err = b.DB.ListStackHeadsByUser(ctx, f.UserId, pg)
	default:
		return nil, missingFilter("all, ids, user_id")
	}
	if err != nil {
		return nil, dbStatus(err)
	}
	items, err := b.mediaFiles(ctx, b.DB, rows)
	if err != nil {
		return nil, dbStatus(err)
	}
	return &pb.DbMediaFileList{Items: items, Paging: req.Paging}, nil
}

func (o *outbound) DbGetComments(ctx context.Context, req *pb.DbGetCommentsRequest) (*pb.DbCommentList, error) {
	b, pg, err := o.dbRequest(req.Paging)
	if err != nil {
		return nil, err
	}
	var rows []store.Comment
	switch f := req.GetFilter().(type) {
	case *pb.DbGetCommentsRequest_All:
		rows, err = b.DB.ListComments(ctx, pg)
	case *pb.DbGetCommentsRequest_Ids:
		rows, err = byIDs(ctx, "comment id", f.Ids.GetIds(), pg, b.DB.GetComments, func(c store.Comment) int64 { return c.ID })
	case *pb.DbGetCommentsRequest_UserId:
		rows, err = b.DB.ListCommentsByUser(ctx, f.UserId, pg)
	case *pb.DbGetCommentsRequest_MediaFileId:
		rows, err = b.DB.ListCommentsByMediaFile(ctx, f.MediaFileId, pg)
	default:
		return nil, missingFilter("all, ids, user_id, media_file_id")
	}
	if err != nil {
		return nil, dbStatus(err)
	}
	return &pb.DbCommentList{Items: convert(rows, pbconv.Comment), Paging: req.Paging}, nil
}

func (o *outbound) DbGetUserMessages(ctx context.Context, req *pb.DbGetUserMessagesRequest) (*pb.DbUserMessageList, error) {
	b, pg, err := o.dbRequest(req.Paging)
	if err != nil {
		return nil, err
	}
	var rows []store.Message
	switch f := req.GetFilter().(type) {
	case *pb.DbGetUserMessagesRequest_All:
		rows, err = b.DB.ListMessages(ctx, pg)
	case *pb.DbGetUserMessagesRequest_Ids:
		rows, err = byIDs(ctx, "message id", f.Ids.GetIds(), pg, b.DB.GetMessages, func(m store.Message) int64 { return m.ID })
	case *pb.DbGetUserMessagesRequest_UserId:
		rows, err = b.DB.ListMessagesByUser(ctx, f.UserId, pg)
	case *pb.DbGetUserMessagesRequest_MediaFileId:
		rows, err = b.DB.ListMessagesByMediaFile(ctx, f.MediaFileId, pg)
	case *pb.DbGetUserMessagesRequest_CommentId:
		id, perr := parseIDs("comment id", []string{f.CommentId})
		if perr != nil {
			return nil, perr
		}
		rows, err = b.DB.ListMessagesByComment(ctx, id[0], pg)
	default:
		return nil, missingFilter("all, ids, user_id, media_file_id, comment_id")
	}
	if err != nil {
		return nil, dbStatus(err)
	}
	return &pb.DbUserMessageList{Items: convert(rows, pbconv.Message), Paging: req.Paging}, nil
}

// DbUpsert inserts the items without an id and replaces the rows of those
// with one, all in one transaction, and returns them as stored, in the
// order given. Media files always carry their id (the server chooses media
// ids at ingest): one whose id does not exist yet is inserted.
func (o *outbound) DbUpsert(ctx context.Context, req *pb.DbUpsertRequest) (*pb.DbUpsertResponse, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	res := &pb.DbUpsertResponse{}
	err = b.DB.InTx(ctx, func(q Queries) error {
		for i, in := range req.GetMediaFiles() {
			m, err := mediaFileFromProto(in)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "media_files[%d]: %v", i, err)
			}
			_, gerr := q.GetMediaFile(ctx, m.ID)
			switch {
			case gerr == nil:
				if m.AddedTime.IsZero() {
					return status.Errorf(codes.InvalidArgument, "media_files[%d] (%s): added_time is required when replacing a media file", i, m.ID)
				}
				err = q.UpdateMediaFile(ctx, m)
			case errors.Is(gerr, store.ErrNotFound):
				err = q.InsertMediaFile(ctx, m)
			default:
				err = gerr
			}
			if err != nil {
				return err
			}
			row, err := q.GetMediaFile(ctx, m.ID)
			if err != nil {
				return err
			}
			conv, err := b.mediaFiles(ctx, q, []store.MediaFile{row})
			if err != nil {
				return err
			}
			res.MediaFiles = append(res.MediaFiles, conv[0])
		}
		for i, in := range req.GetSubtitles() {
			s, err := subtitleFromProto(in)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "subtitles[%d]: %v", i, err)
			}
			if in.GetId() == "" {
				s, err = q.InsertSubtitle(ctx, s)
			} else if err = q.UpdateSubtitle(ctx, s); err == nil {
				s, err = q.GetSubtitle(ctx, s.ID)
			}
			if err != nil {
				return err
			}
			res.Subtitles = append(res.Subtitles, pbconv.Subtitle(s, b.URLs))
		}
		for i, in := range req.GetComments() {
			c, err := commentFromProto(in)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "comments[%d]: %v", i, err)
			}
			if in.GetId() == "" {
				c, err = q.InsertComment(ctx, c)
			} else if err = q.UpdateComment(ctx, c); err == nil {
				c, err = q.GetComment(ctx, c.ID)
			}
			if err != nil {
				return err
			}
			res.Comments = append(res.Comments, pbconv.Comment(c))
		}
		for i, in := range req.GetUserMessages() {
			m, err := messageFromProto(in)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "user_messages[%d]: %v", i, err)
			}
			if in.Id == nil {
				m, err = q.InsertMessage(ctx, m)
			} else if err = q.UpdateMessage(ctx, m); err == nil {
				m, err = q.GetMessage(ctx, m.ID)
			}
			if err != nil {
				return err
			}
			res.UserMessages = append(res.UserMessages, pbconv.Message(m))
		}
		return nil
	})
	if err != nil {
		return nil, dbStatus(err)
	}
	return res, nil
}

// DbDelete deletes rows only (no files, no trash) and counts what was
// deleted; ids that do not exist count nothing.
func (o *outbound) DbDelete(ctx context.Context, req *pb.DbDeleteRequest) (*pb.DbDeleteResponse, error) {
	b, err := o.backend()
	if err != nil {
		return nil, err
	}
	subIDs, err := parseIDs("subtitle id", req.GetSubtitleIds())
	if err != nil {
		return nil, err
	}
	commentIDs, err := parseIDs("comment id", req.GetCommentIds())
	if err != nil {
		return nil, err
	}
	msgIDs, err := parseIDs("message id", req.GetUserMessageIds())
	if err != nil {
		return nil, err
	}
	res := &pb.DbDeleteResponse{}
	count := func(n *uint32, err error) error {
		switch {
		case err == nil:
			*n++
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	}
	err = b.DB.InTx(ctx, func(q Queries) error {
		for _, id := range slices.Compact(slices.Sorted(slices.Values(req.GetMediaFileIds()))) {
			if err := count(&res.MediaFilesDeleted, q.DeleteMediaFile(ctx, id)); err != nil {
				return err
			}
		}
		for _, id := range subIDs {
			if err := count(&res.SubtitlesDeleted, q.DeleteSubtitle(ctx, id)); err != nil {
				return err
			}
		}
		for _, id := range commentIDs {
			if err := count(&res.CommentsDeleted, q.DeleteComment(ctx, id)); err != nil {
				return err
			}
		}
		for _, id := range msgIDs {
			if err := count(&res.UserMessagesDeleted, q.DeleteMessage(ctx, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, dbStatus(err)
	}
	return res, nil
}

// ---- proto to rows, for DbUpsert ----

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func mediaFileFromProto(in *pb.MediaFile) (store.MediaFile, error) {
	if strings.TrimSpace(in.GetId()) == "" {
		return store.MediaFile{}, errors.New("id is required (media file ids are chosen by the server when media is added)")
	}
	if in.GetUserId() == "" {
		return store.MediaFile{}, errors.New("user_id is required")
	}
	m := store.MediaFile{ID: in.GetId(), UserID: in.GetUserId(), Title: in.Title, MediaType: nonEmpty(in.GetMediaType())}
	if in.GetAddedTime() != nil {
		m.AddedTime = in.GetAddedTime().AsTime()
	}
	if d := in.GetDuration(); d != nil {
		m.Duration, m.TotalFrames, m.FPS = new(d.GetDuration()), new(d.GetTotalFrames()), new(d.GetFps())
	}
	if pm := in.GetProcessingMetadata(); pm != nil {
		m.OrigFilename = new(pm.GetOrigFilename())
		m.RawMetadataAll = pm.FfprobeMetadataAll
		if pm.RecompressionDone != nil {
			m.RecompressionDone = new(pm.GetRecompressionDone().AsTime())
		}
		if pm.ThumbsDone != nil {
			m.ThumbsDone = new(pm.GetThumbsDone().AsTime())
		}
	}
	if pv := in.GetPreviewData(); pv != nil {
		m.HasThumbnail = new(pv.ThumbUrl != nil)
		if ts := pv.GetThumbSheet(); ts != nil {
			m.ThumbSheetCols, m.ThumbSheetRows = new(int64(ts.GetCols())), new(int64(ts.GetRows()))
		}
	}
	var err error
	m.DefaultSubtitleID, err = rowid.ParsePtr("default_subtitle_id", in.DefaultSubtitleId)
	return m, err
}

func subtitleFromProto(in *pb.Subtitle) (store.Subtitle, error) {
	s := store.Subtitle{
		MediaFileID:  in.GetMediaFileId(),
		Title:        in.GetTitle(),
		LanguageCode: in.GetLanguageCode(),
		OrigFilename: in.GetOrigFilename(),
		TimeOffset:   float64(in.GetTimeOffset()),
	}
	// As Clapshot: the converted file's name is the playback URL's last
	// segment; the original's own URL means there is none.
	if u := in.GetPlaybackUrl(); u != "" && u != in.GetOrigUrl() {
		s.Filename = new(u[strings.LastIndex(u, "/")+1:])
	}
	if in.GetId() != "" {
		id, err := rowid.Parse("id", in.GetId())
		if err != nil {
			return s, err
		}
		if in.GetAddedTime() == nil {
			return s, errors.New("added_time is required when replacing a subtitle")
		}
		s.ID, s.AddedTime = id, in.GetAddedTime().AsTime()
	}
	if s.MediaFileID == "" {
		return s, errors.New("media_file_id is required")
	}
	return s, nil
}

func commentFromProto(in *pb.Comment) (store.Comment, error) {
	c := store.Comment{
		MediaFileID:            in.GetMediaFileId(),
		UserID:                 in.UserId,
		UsernameIfNull:         in.GetUsernameIfnull(),
		Comment:                in.GetComment(),
		Timecode:               in.Timecode,
		TimecodeEnd:            in.TimecodeEnd,
		Drawing:                in.Drawing,
		SubtitleFilenameIfNull: in.SubtitleFilenameIfnull,
	}
	var err error
	if c.ParentID, err = rowid.ParsePtr("parent_id", in.ParentId); err != nil {
		return c, err
	}
	if c.SubtitleID, err = rowid.ParsePtr("subtitle_id", in.SubtitleId); err != nil {
		return c, err
	}
	if in.GetEdited() != nil {
		c.Edited = new(in.GetEdited().AsTime())
	}
	if in.GetId() != "" {
		if c.ID, err = rowid.Parse("id", in.GetId()); err != nil {
			return c, err
		}
		if in.GetCreated() == nil {
			return c, errors.New("created is required when replacing a comment")
		}
		c.Created = in.GetCreated().AsTime()
	}
	if c.MediaFileID == "" {
		return c, errors.New("media_file_id is required")
	}
	return c, nil
}

func messageFromProto(in *pb.UserMessage) (store.Message, error) {
	if in.GetUserId() == "" {
		return store.Message{}, errors.New("user_id is required")
	}
	refs := refsOf(in)
	m := store.Message{
		UserID:      in.GetUserId(),
		Seen:        in.GetSeen(),
		EventName:   pbconv.EventName(in.GetType()),
		Message:     in.GetMessage(),
		Details:     in.GetDetails(),
		MediaFileID: refs.MediaFileId,
	}
	var err error
	if m.CommentID, err = rowid.ParsePtr("refs.comment_id", refs.CommentId); err != nil {
		return m, err
	}
	// Clapshot read the subtitle id from refs.comment_id here (a bug); we
	// read refs.subtitle_id.
	if m.SubtitleID, err = rowid.ParsePtr("refs.subtitle_id", refs.SubtitleId); err != nil {
		return m, err
	}
	if in.Id != nil {
		if m.ID, err = rowid.Parse("id", in.GetId()); err != nil {
			return m, err
		}
		if in.GetCreated() == nil {
			return m, errors.New("created is required when replacing a message")
		}
		m.Created = in.GetCreated().AsTime()
	}
	return m, nil
}

func refsOf(m *pb.UserMessage) *pb.UserMessage_Refs {
	if r := m.GetRefs(); r != nil {
		return r
	}
	return &pb.UserMessage_Refs{}
}
