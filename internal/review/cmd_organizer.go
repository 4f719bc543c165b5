package review

// The commands passed on to the organizer plugin.

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

func (s *session) organizerCmd(c *pb.ClientToServerCmd_OrganizerCmd) error {
	err := s.hub.organizer().CmdFromClient(s.ctx, &pb.CmdFromClientRequest{Ses: s.data(), Cmd: c.Cmd, Args: c.Args})
	if err == nil || status.Code(err) == codes.Aborted {
		return nil
	}
	return fmt.Errorf("Organizer error: %v", err)
}

// folderOp reports the result of moveToFolder / reorderItems.
func (s *session) folderOp(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoOrganizer):
		s.userError(&pb.UserMessage{Message: ErrNoOrganizer.Error()}, false)
		return nil
	case status.Code(err) == codes.Unimplemented, status.Code(err) == codes.Aborted:
		return nil
	}
	return fmt.Errorf("Organizer error: %v", err)
}
