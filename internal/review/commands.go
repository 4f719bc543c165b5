package review

import (
	"context"
	"errors"
	"fmt"

	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/rowid"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// dispatch runs one command. Handler errors other than permission denials
// reach the user as Clapshot words them: "Cmd '<Command>' failed: <why>".
// A non-nil result ends the session.
func (s *session) dispatch(cmd *pb.ClientToServerCmd) error {
	if s.guestRefuses(cmd) {
		return nil
	}
	var err error
	switch c := cmd.Cmd.(type) {
	case *pb.ClientToServerCmd_OpenNavigationPage_:
		err = s.openNavigationPage(c.OpenNavigationPage)
	case *pb.ClientToServerCmd_OpenMediaFile_:
		err = s.openMediaFile(c.OpenMediaFile)
	case *pb.ClientToServerCmd_DelMediaFile_:
		err = s.delMediaFile(c.DelMediaFile)
	case *pb.ClientToServerCmd_RenameMediaFile_:
		err = s.renameMediaFile(c.RenameMediaFile)
	case *pb.ClientToServerCmd_AddComment_:
		err = s.addComment(c.AddComment)
	case *pb.ClientToServerCmd_EditComment_:
		err = s.editComment(c.EditComment)
	case *pb.ClientToServerCmd_DelComment_:
		err = s.delComment(c.DelComment)
	case *pb.ClientToServerCmd_AddSubtitle_:
		err = s.addSubtitle(c.AddSubtitle)
	case *pb.ClientToServerCmd_EditSubtitleInfo_:
		err = s.editSubtitleInfo(c.EditSubtitleInfo)
	case *pb.ClientToServerCmd_DelSubtitle_:
		err = s.delSubtitle(c.DelSubtitle)
	case *pb.ClientToServerCmd_ListMyMessages_:
		err = s.listMyMessages()
	case *pb.ClientToServerCmd_JoinCollab_:
		err = s.joinCollab(c.JoinCollab)
	case *pb.ClientToServerCmd_LeaveCollab_:
		s.hub.leaveRoom(s, true)
	case *pb.ClientToServerCmd_CollabReport_:
		err = s.collabReport(c.CollabReport)
	case *pb.ClientToServerCmd_OrganizerCmd_:
		err = s.organizerCmd(c.OrganizerCmd)
	case *pb.ClientToServerCmd_MoveToFolder_:
		err = s.folderOp(s.hub.organizer().MoveToFolder(s.ctx, &pb.MoveToFolderRequest{
			Ses: s.data(), Ids: c.MoveToFolder.Ids, DstFolderId: c.MoveToFolder.DstFolderId, ListingData: c.MoveToFolder.ListingData}))
	case *pb.ClientToServerCmd_ReorderItems_:
		err = s.folderOp(s.hub.organizer().ReorderItems(s.ctx, &pb.ReorderItemsRequest{
			Ses: s.data(), Ids: c.ReorderItems.Ids, ListingData: c.ReorderItems.ListingData}))
	case *pb.ClientToServerCmd_AddVersion_:
		err = s.addVersion(c.AddVersion)
	case *pb.ClientToServerCmd_ListVersionComments_:
		err = s.listVersionComments(c.ListVersionComments)
	case *pb.ClientToServerCmd_Logout_:
		s.hub.log.Info("Logout", "sid", s.sid, "user", s.user.UserID)
		return errLogout
	default:
		s.sendError("Missing command from client")
		return nil
	}
	if err == nil || errors.Is(err, errDenied) {
		return nil
	}
	if cause := context.Cause(s.ctx); cause != nil {
		return cause // the session is ending; nobody to tell
	}
	name := commandName(cmd)
	s.hub.log.Warn("Command failed", "sid", s.sid, "user", s.user.UserID, "cmd", name, "err", err)
	if store.Unavailable(err) {
		// PostgreSQL restarting, or its connection lost: say so rather
		// than show a driver's message; the cause is in the details.
		s.userError(&pb.UserMessage{Message: fmt.Sprintf("Cmd '%s' failed: %s", name, store.UnavailableMessage),
			Details: new(err.Error())}, false)
		return nil
	}
	s.userError(&pb.UserMessage{Message: fmt.Sprintf("Cmd '%s' failed: %v", name, err)}, false)
	return nil
}

// userError and userOK send a message to all of the user's sessions,
// stored when persist is set.
func (s *session) userError(m *pb.UserMessage, persist bool) {
	m.Type = pb.UserMessage_ERROR
	s.hub.notifyUser(s.ctx, s.user.UserID, m, persist)
}

func (s *session) userOK(m *pb.UserMessage, persist bool) {
	m.Type = pb.UserMessage_OK
	s.hub.notifyUser(s.ctx, s.user.UserID, m, persist)
}

func mediaRefs(id string) *pb.UserMessage_Refs { return &pb.UserMessage_Refs{MediaFileId: new(id)} }

// getMedia loads a media file; a missing one is reported to the user as
// Clapshot does ("No such media file.") and gives ok false.
func (s *session) getMedia(id string) (m store.MediaFile, ok bool, err error) {
	if s.guest != nil && s.guest.MediaFileID != "" && id != s.guest.MediaFileID {
		s.notShared()
		return m, false, nil
	}
	m, err = s.hub.opt.DB.GetMediaFile(s.ctx, id)
	if errors.Is(err, store.ErrNotFound) && s.guest != nil {
		s.notShared()
		return m, false, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		s.userError(&pb.UserMessage{Message: "No such media file.", Refs: mediaRefs(id)}, false)
		return m, false, nil
	}
	return m, err == nil, err
}

func delCommentCmd(id int64) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_DelComment_{DelComment: &pb.ServerToClientCmd_DelComment{CommentId: rowid.Format(id)}}}
}

func collabEventCmd(ev *pb.ServerToClientCmd_CollabEvent) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_CollabEvent_{CollabEvent: ev}}
}

func (s *session) listMyMessages() error {
	if s.guest != nil {
		s.send(encode(messagesCmd())) // guests have no stored messages
		return nil
	}
	db := s.hub.opt.DB
	msgs, err := db.ListMessagesByUser(s.ctx, s.user.UserID, store.All)
	if err != nil {
		return err
	}
	out := make([]*pb.UserMessage, len(msgs))
	for i, m := range msgs {
		out[i] = pbconv.Message(m)
	}
	s.send(encode(messagesCmd(out...)))
	// Mark exactly what was listed: a message arriving meanwhile stays new.
	return db.InTx(s.ctx, func(q Queries) error {
		for _, m := range msgs {
			if !m.Seen {
				if err := q.SetMessageSeen(s.ctx, m.ID, true); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		return nil
	})
}
