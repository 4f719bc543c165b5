package organizer_test

// A small organizer plugin written against the public API only, run as a
// real subprocess: the test binary re-executes itself with
// CLAPSHOT_TEST_ORGANIZER=<mode> (see orgCmd). It has a migration of its
// own, answers every OrganizerInbound call, and its "exercise" command
// calls every OrganizerOutbound method and checks the answers.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"database/sql"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	_ "modernc.org/sqlite"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

const testOrgEnv = "CLAPSHOT_TEST_ORGANIZER"

// Modes of the test organizer.
const (
	modeNormal       = "normal"
	modeExit         = "exit"          // exits at once with an error
	modeNoHandshake  = "nohandshake"   // never answers handshake
	modeBadMigration = "badmigration"  // a migration that cannot be placed
	modeFailMigrate  = "failmigration" // apply_migration fails
	modeNoMigrations = "nomigrations"  // check_migrations is UNIMPLEMENTED
	modeLate         = "late"          // the first run is slow to listen
)

const testOrgModule = "clapshot.test_organizer"

// orgCmd is the --org-cmd that starts the test organizer in a mode.
func orgCmd(mode string) string {
	return fmt.Sprintf("%s=%s %s", testOrgEnv, mode, os.Args[0])
}

func runTestOrganizer(mode string) int {
	var sock string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			sock = a
		}
	}
	logf := func(level, format string, args ...any) { fmt.Printf(level+" [testorg] "+format+"\n", args...) }
	if mode == modeExit {
		fmt.Fprintln(os.Stderr, "testorg: cannot start: configuration missing")
		return 3
	}
	if mode == modeLate {
		marker := filepath.Join(filepath.Dir(sock), "testorg.started")
		if _, err := os.Stat(marker); err != nil {
			_ = os.WriteFile(marker, nil, 0o644)
			time.Sleep(3 * time.Second)
		}
	}
	network, addr := "unix", sock
	if a, ok := strings.CutPrefix(sock, "tcp:"); ok {
		network, addr = "tcp", a
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ERROR [testorg] listen:", err)
		return 1
	}
	srv := grpc.NewServer()
	pb.RegisterOrganizerInboundServer(srv, &testOrg{mode: mode, logf: logf})
	logf("INFO", "listening on %s (mode %s, pid %d)", sock, mode, os.Getpid())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR [testorg] serve:", err)
		return 1
	}
	return 0
}

type testOrg struct {
	pb.UnimplementedOrganizerInboundServer
	mode string
	logf func(level, format string, args ...any)

	mu      sync.Mutex
	srv     pb.OrganizerOutboundClient
	dataDir string
	started []string // sids seen by on_start_user_session
}

func (o *testOrg) migration() *pb.Migration {
	server := &pb.Migration_Dependency{Name: "clapshot.server", MinVer: new("20240522163000"), MaxVer: new("20240602173200")}
	if o.mode == modeBadMigration {
		server = &pb.Migration_Dependency{Name: "clapshot.server", MaxVer: new("20230101000000")}
	}
	return &pb.Migration{
		Uuid: "testorg_0001", Version: "0001", Description: "things table",
		Dependencies: []*pb.Migration_Dependency{server, {Name: testOrgModule, MaxVer: new("")}},
	}
}

func openDB(db *pb.Database) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+db.GetEndpoint()+"?_pragma=busy_timeout(15000)&_pragma=foreign_keys(1)")
}

func (o *testOrg) CheckMigrations(_ context.Context, req *pb.CheckMigrationsRequest) (*pb.CheckMigrationsResponse, error) {
	if o.mode == modeNoMigrations {
		return nil, status.Error(codes.Unimplemented, "no migrations here")
	}
	db, err := openDB(req.GetDb())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cur := ""
	_ = db.QueryRow("SELECT version FROM testorg_schema").Scan(&cur)
	res := &pb.CheckMigrationsResponse{Name: testOrgModule, CurrentSchemaVer: cur}
	if cur == "" {
		res.PendingMigrations = []*pb.Migration{o.migration()}
	}
	return res, nil
}

func (o *testOrg) ApplyMigration(_ context.Context, req *pb.ApplyMigrationRequest) (*pb.ApplyMigrationResponse, error) {
	if req.GetUuid() != "testorg_0001" {
		return nil, status.Errorf(codes.NotFound, "no migration %q", req.GetUuid())
	}
	if o.mode == modeFailMigrate {
		return nil, status.Error(codes.Internal, "testorg: migration failed on purpose")
	}
	db, err := openDB(req.GetDb())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE testorg_things (id INTEGER PRIMARY KEY, media_file_id VARCHAR REFERENCES media_files(id) ON DELETE CASCADE);
		CREATE TABLE testorg_schema (version VARCHAR NOT NULL);
		INSERT INTO testorg_schema VALUES ('0001');`)
	return &pb.ApplyMigrationResponse{}, err
}

func (o *testOrg) Handshake(ctx context.Context, info *pb.ServerInfo) (*pb.Empty, error) {
	if o.mode == modeNoHandshake {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	target := "unix://" + info.GetBackchannel().GetUnix().GetPath()
	if tcp := info.GetBackchannel().GetTcp(); tcp != nil {
		target = net.JoinHostPort(tcp.GetHost(), fmt.Sprint(tcp.GetPort()))
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	srv := pb.NewOrganizerOutboundClient(conn)
	if _, err := srv.Handshake(ctx, &pb.OrganizerInfo{Name: "clapshot.test_organizer", Description: "test organizer",
		Version: &pb.SemanticVersionNumber{Major: 1, Minor: 2, Patch: 3}}); err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.srv, o.dataDir = srv, info.GetStorage().GetLocalFs().GetBaseDir()
	o.mu.Unlock()
	// Tests find the process to kill here.
	_ = os.WriteFile(filepath.Join(o.dataDir, "testorg.pid"), []byte(fmt.Sprint(os.Getpid())), 0o644)
	o.logf("INFO", "connected back to the server")
	return &pb.Empty{}, nil
}

func (o *testOrg) OnStartUserSession(ctx context.Context, req *pb.OnStartUserSessionRequest) (*pb.OnStartUserSessionResponse, error) {
	o.mu.Lock()
	o.started = append(o.started, req.GetSes().GetSid())
	n := len(o.started)
	o.mu.Unlock()
	_, err := o.srv.ClientDefineActions(ctx, &pb.ClientDefineActionsRequest{Sid: req.GetSes().GetSid(), Actions: map[string]*pb.ActionDef{
		"testorg_action": {Action: &pb.ScriptCall{Lang: pb.ScriptCall_JAVASCRIPT, Code: fmt.Sprintf("/* session start %d */", n)}},
	}})
	return &pb.OnStartUserSessionResponse{}, err
}

func (o *testOrg) NavigatePage(ctx context.Context, req *pb.NavigatePageRequest) (*pb.ClientShowPageRequest, error) {
	switch req.GetSes().GetUser().GetId() {
	case "slow.user":
		select {
		case <-time.After(time.Minute):
		case <-ctx.Done():
		}
		return nil, status.Error(codes.DeadlineExceeded, "too slow")
	case "odd.user":
		// Raw HTML and an item with nothing in it: data for the client.
		return &pb.ClientShowPageRequest{PageItems: []*pb.PageItem{
			{Item: &pb.PageItem_Html{Html: `<script>alert("x")</script><b>unclosed`}},
			{},
		}, PageTitle: new("Odd page")}, nil
	}
	files, err := o.srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_UserId{UserId: req.GetSes().GetUser().GetId()}})
	if err != nil {
		return nil, err
	}
	var items []*pb.PageItem_FolderListing_Item
	for _, f := range files.GetItems() {
		items = append(items, &pb.PageItem_FolderListing_Item{Item: &pb.PageItem_FolderListing_Item_MediaFile{MediaFile: f}})
	}
	return &pb.ClientShowPageRequest{
		PageItems: []*pb.PageItem{
			{Item: &pb.PageItem_Html{Html: "<h2>Test organizer page</h2>"}},
			{Item: &pb.PageItem_FolderListing_{FolderListing: &pb.PageItem_FolderListing{Items: items}}},
		},
		PageId: req.PageId, PageTitle: new("Test organizer"),
	}, nil
}

func (o *testOrg) AuthzUserAction(_ context.Context, req *pb.AuthzUserActionRequest) (*pb.AuthzResponse, error) {
	switch req.GetSes().GetUser().GetId() {
	case "denied.user":
		if req.GetMediaFileOp().GetOp() == pb.AuthzUserActionRequest_MediaFileOp_COMMENT {
			if req.GetMediaFileOp().GetMediaFile().GetId() == "" {
				return nil, status.Error(codes.Internal, "authz request without the media file")
			}
			return &pb.AuthzResponse{IsAuthorized: new(false), Message: new("Comments are closed here"), Details: new("testorg rule")}, nil
		}
	case "aborted.user":
		return nil, status.Error(codes.Aborted, "testorg aborts")
	case "noupload.user":
		if req.GetOtherOp().GetOp() == pb.AuthzUserActionRequest_OtherOp_UPLOAD_MEDIA_FILE {
			msg := "Uploads are closed"
			if req.GetSes().GetSid() != "<upload--not-set>" {
				msg = "unexpected sid " + req.GetSes().GetSid()
			}
			return &pb.AuthzResponse{IsAuthorized: new(false), Message: &msg}, nil
		}
	}
	return nil, status.Error(codes.Unimplemented, "server decides")
}

func (o *testOrg) CmdFromClient(ctx context.Context, req *pb.CmdFromClientRequest) (*pb.Empty, error) {
	ses := req.GetSes()
	switch req.GetCmd() {
	case "exercise":
		failures := exercise(ctx, o.srv, ses.GetSid(), true, ses.GetUser().GetId())
		msg := &pb.UserMessage{Type: pb.UserMessage_OK, Message: "exercise passed"}
		if len(failures) > 0 {
			msg = &pb.UserMessage{Type: pb.UserMessage_ERROR, Message: "exercise failed", Details: new(strings.Join(failures, "\n"))}
		}
		_, err := o.srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg, Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: ses.GetSid()}})
		return &pb.Empty{}, err
	case "sessions":
		o.mu.Lock()
		n := len(o.started)
		o.mu.Unlock()
		_, err := o.srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{
			Msg:       &pb.UserMessage{Type: pb.UserMessage_OK, Message: fmt.Sprintf("sessions started here: %d", n)},
			Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: ses.GetSid()}})
		return &pb.Empty{}, err
	case "slow":
		select {
		case <-time.After(time.Minute):
		case <-ctx.Done():
		}
		return &pb.Empty{}, nil
	case "abort":
		return nil, status.Error(codes.Aborted, "told the user already")
	case "crash":
		os.Exit(7)
	}
	return nil, status.Errorf(codes.InvalidArgument, "unknown command %q", req.GetCmd())
}

func (o *testOrg) MoveToFolder(context.Context, *pb.MoveToFolderRequest) (*pb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "no folders")
}

func (o *testOrg) ListTests(context.Context, *pb.Empty) (*pb.ListTestsResponse, error) {
	return &pb.ListTestsResponse{TestNames: []string{"exercise_outbound", "fails_on_purpose"}}, nil
}

func (o *testOrg) RunTest(ctx context.Context, req *pb.RunTestRequest) (*pb.RunTestResponse, error) {
	switch req.GetTestName() {
	case "exercise_outbound":
		failures := exercise(ctx, o.srv, "test_sid", false, "user.num1")
		res := &pb.RunTestResponse{Output: fmt.Sprintf("%d checks failed", len(failures))}
		if len(failures) > 0 {
			res.Error = new(strings.Join(failures, "\n"))
		}
		return res, nil
	case "fails_on_purpose":
		return &pb.RunTestResponse{Output: "about to fail", Error: new("this test fails on purpose")}, nil
	}
	return &pb.RunTestResponse{Error: new("no such test")}, nil
}

// exercise calls every OrganizerOutbound method against the fixture data
// (internal/orgtest) and returns what did not behave as documented. sid
// is a live session when live is set, else a made-up one.
func exercise(ctx context.Context, srv pb.OrganizerOutboundClient, sid string, live bool, userID string) (failures []string) {
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
	wantCode := func(what string, err error, want codes.Code) {
		if got := status.Code(err); got != want {
			fail("%s: status %s (%v), want %s", what, got, err, want)
		}
	}
	ok := func(what string, err error) bool {
		if err != nil {
			fail("%s: %v", what, err)
			return false
		}
		return true
	}
	ids := func(list []*pb.MediaFile) []string {
		var out []string
		for _, m := range list {
			out = append(out, m.GetId())
		}
		return out
	}

	// DbGetMediaFiles: every filter, paging, URLs.
	all, err := srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_All{All: &pb.Empty{}}})
	if ok("DbGetMediaFiles all", err) {
		if len(all.GetItems()) != 5 {
			fail("DbGetMediaFiles all: %d items, want the 5 of the fixture", len(all.GetItems()))
		}
		for _, m := range all.GetItems() {
			if !strings.HasSuffix(m.GetPlaybackUrl(), "videos/"+m.GetId()+"/video.mp4") || m.GetOrigUrl() == "" ||
				!strings.HasSuffix(m.GetPreviewData().GetThumbUrl(), "/thumbs/thumb.webp") {
				fail("DbGetMediaFiles: media file %s lacks URLs: %v", m.GetId(), m)
			}
		}
	}
	byIDs, err := srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_Ids{Ids: &pb.IdList{Ids: []string{"B1DE3", "nope", "B1DE0"}}}})
	if ok("DbGetMediaFiles ids", err) && !slices.Equal(ids(byIDs.GetItems()), []string{"B1DE3", "B1DE0"}) {
		fail("DbGetMediaFiles ids: got %v, want [B1DE3 B1DE0]", ids(byIDs.GetItems()))
	}
	paged, err := srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Paging: &pb.DbPaging{PageNum: 1, PageSize: 2},
		Filter: &pb.DbGetMediaFilesRequest_UserId{UserId: "user.num1"}})
	if ok("DbGetMediaFiles user_id paged", err) && (len(paged.GetItems()) != 1 || paged.GetPaging().GetPageSize() != 2) {
		fail("DbGetMediaFiles user_id page 1 of 2: %v, want 1 item and the paging echoed", paged)
	}
	_, err = srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Paging: &pb.DbPaging{}, Filter: &pb.DbGetMediaFilesRequest_All{All: &pb.Empty{}}})
	wantCode("DbGetMediaFiles page_size 0", err, codes.InvalidArgument)
	_, err = srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{})
	wantCode("DbGetMediaFiles without filter", err, codes.InvalidArgument)

	// DbGetComments.
	cs, err := srv.DbGetComments(ctx, &pb.DbGetCommentsRequest{Filter: &pb.DbGetCommentsRequest_MediaFileId{MediaFileId: "B1DE0"}})
	if ok("DbGetComments media_file_id", err) && len(cs.GetItems()) != 5 {
		fail("DbGetComments B1DE0: %d comments, want 5", len(cs.GetItems()))
	}
	_, err = srv.DbGetComments(ctx, &pb.DbGetCommentsRequest{Filter: &pb.DbGetCommentsRequest_Ids{Ids: &pb.IdList{Ids: []string{"x"}}}})
	wantCode("DbGetComments bad id", err, codes.InvalidArgument)

	// DbUpsert comments: insert, replace, unknown id.
	up, err := srv.DbUpsert(ctx, &pb.DbUpsertRequest{Comments: []*pb.Comment{{MediaFileId: "B1DE0", UserId: &userID, UsernameIfnull: "Org", Comment: "from organizer"}}})
	var comment *pb.Comment
	if ok("DbUpsert insert comment", err) {
		comment = up.GetComments()[0]
		if comment.GetId() == "" || comment.GetCreated() == nil {
			fail("DbUpsert insert comment: no id or time: %v", comment)
		}
		comment.Comment = "edited by organizer"
		up, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{Comments: []*pb.Comment{comment}})
		if ok("DbUpsert replace comment", err) && up.GetComments()[0].GetComment() != "edited by organizer" {
			fail("DbUpsert replace comment: %v", up.GetComments())
		}
		got, err := srv.DbGetComments(ctx, &pb.DbGetCommentsRequest{Filter: &pb.DbGetCommentsRequest_Ids{Ids: &pb.IdList{Ids: []string{comment.GetId()}}}})
		if ok("DbGetComments ids", err) && (len(got.GetItems()) != 1 || got.GetItems()[0].GetComment() != "edited by organizer") {
			fail("DbGetComments ids: %v", got.GetItems())
		}
	}
	_, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{Comments: []*pb.Comment{{Id: "999999", MediaFileId: "B1DE0", Comment: "x", Created: timestamppb.Now()}}})
	wantCode("DbUpsert unknown comment id", err, codes.NotFound)

	// DbUpsert / DbGetUserMessages / DbDelete of messages.
	if comment != nil {
		up, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{UserMessages: []*pb.UserMessage{{UserId: &userID, Message: "stored by organizer",
			Type: pb.UserMessage_OK, Refs: &pb.UserMessage_Refs{CommentId: &comment.Id}}}})
		if ok("DbUpsert insert message", err) {
			msgID := up.GetUserMessages()[0].GetId()
			got, err := srv.DbGetUserMessages(ctx, &pb.DbGetUserMessagesRequest{Filter: &pb.DbGetUserMessagesRequest_CommentId{CommentId: comment.GetId()}})
			if ok("DbGetUserMessages comment_id", err) && len(got.GetItems()) != 1 {
				fail("DbGetUserMessages comment_id: %v", got.GetItems())
			}
			del, err := srv.DbDelete(ctx, &pb.DbDeleteRequest{UserMessageIds: []string{msgID}})
			if ok("DbDelete message", err) && del.GetUserMessagesDeleted() != 1 {
				fail("DbDelete message: %v", del)
			}
			del, err = srv.DbDelete(ctx, &pb.DbDeleteRequest{UserMessageIds: []string{msgID}})
			if ok("DbDelete message again", err) && del.GetUserMessagesDeleted() != 0 {
				fail("DbDelete message again: %v", del)
			}
		}
	}

	// Subtitles.
	up, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{Subtitles: []*pb.Subtitle{{MediaFileId: "B1DE3", Title: "Org subs", LanguageCode: "en",
		OrigFilename: "org.srt", PlaybackUrl: "/videos/B1DE3/subs/org.vtt"}}})
	if ok("DbUpsert insert subtitle", err) {
		subID := up.GetSubtitles()[0].GetId()
		m, err := srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_Ids{Ids: &pb.IdList{Ids: []string{"B1DE3"}}}})
		if ok("DbGetMediaFiles with subtitle", err) && (len(m.GetItems()) != 1 || len(m.GetItems()[0].GetSubtitles()) != 1 ||
			!strings.HasSuffix(m.GetItems()[0].GetSubtitles()[0].GetPlaybackUrl(), "videos/B1DE3/subs/org.vtt")) {
			fail("DbGetMediaFiles: subtitle missing or wrong URL: %v", m.GetItems())
		}
		del, err := srv.DbDelete(ctx, &pb.DbDeleteRequest{SubtitleIds: []string{subID}})
		if ok("DbDelete subtitle", err) && del.GetSubtitlesDeleted() != 1 {
			fail("DbDelete subtitle: %v", del)
		}
	}

	// DbUpsert media files.
	if len(byIDs.GetItems()) > 0 {
		m := byIDs.GetItems()[0]
		m.Title = new("Retitled by organizer")
		up, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{MediaFiles: []*pb.MediaFile{m}})
		if ok("DbUpsert replace media file", err) && up.GetMediaFiles()[0].GetTitle() != "Retitled by organizer" {
			fail("DbUpsert replace media file: %v", up.GetMediaFiles())
		}
	}
	_, err = srv.DbUpsert(ctx, &pb.DbUpsertRequest{MediaFiles: []*pb.MediaFile{{UserId: userID}}})
	wantCode("DbUpsert media file without id", err, codes.InvalidArgument)

	// Client calls.
	_, err = srv.ClientDefineActions(ctx, &pb.ClientDefineActionsRequest{Sid: sid, Actions: map[string]*pb.ActionDef{
		"exercised_action": {Action: &pb.ScriptCall{Lang: pb.ScriptCall_JAVASCRIPT, Code: "void 0"}}}})
	ok("client_define_actions", err)
	_, err = srv.ClientDefineActions(ctx, &pb.ClientDefineActionsRequest{Sid: "no-such-sid"})
	ok("client_define_actions to a session that is gone", err)
	_, err = srv.ClientShowPage(ctx, &pb.ClientShowPageRequest{Sid: sid, PageId: new("exercised"),
		PageItems: []*pb.PageItem{{Item: &pb.PageItem_Html{Html: "<h2>Exercised</h2>"}}}})
	ok("client_show_page", err)
	_, err = srv.ClientSetCookies(ctx, &pb.ClientSetCookiesRequest{Sid: sid, Cookies: map[string]string{"testorg": "1"}})
	ok("client_set_cookies", err)

	msg := func(text string) *pb.UserMessage { return &pb.UserMessage{Type: pb.UserMessage_OK, Message: text} }
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("to the session"), Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: sid}})
	if live {
		ok("client_show_user_message sid", err)
	} else {
		wantCode("client_show_user_message to a made-up sid", err, codes.NotFound)
	}
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("x"), Recipient: &pb.ClientShowUserMessageRequest_Sid{Sid: "no-such-sid"}})
	wantCode("client_show_user_message unknown sid", err, codes.NotFound)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("to the user, not stored"), Recipient: &pb.ClientShowUserMessageRequest_UserTemp{UserTemp: userID}})
	ok("client_show_user_message user_temp", err)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("persisted by organizer"), Recipient: &pb.ClientShowUserMessageRequest_UserPersist{UserPersist: userID}})
	if ok("client_show_user_message user_persist", err) {
		got, err := srv.DbGetUserMessages(ctx, &pb.DbGetUserMessagesRequest{Filter: &pb.DbGetUserMessagesRequest_UserId{UserId: userID}})
		if ok("DbGetUserMessages user_id", err) && !slices.ContainsFunc(got.GetItems(), func(m *pb.UserMessage) bool {
			return m.GetMessage() == "persisted by organizer" && m.GetSeen() == live
		}) {
			fail("user_persist message not stored (seen=%v): %v", live, got.GetItems())
		}
	}
	// A live session has opened B1DE0 and joined room "exroom" first.
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("to watchers"), Recipient: &pb.ClientShowUserMessageRequest_MediaFileId{MediaFileId: "B1DE0"}})
	ok("client_show_user_message media_file_id", err)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("to a room"), Recipient: &pb.ClientShowUserMessageRequest_CollabSession{CollabSession: "exroom"}})
	ok("client_show_user_message collab_session", err)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("to nobody"), Recipient: &pb.ClientShowUserMessageRequest_CollabSession{CollabSession: "no-such-room"}})
	ok("client_show_user_message to a room nobody is in", err)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: msg("nobody")})
	wantCode("client_show_user_message without recipient", err, codes.InvalidArgument)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Recipient: &pb.ClientShowUserMessageRequest_UserTemp{UserTemp: userID}})
	wantCode("client_show_user_message without msg", err, codes.InvalidArgument)
	_, err = srv.ClientShowUserMessage(ctx, &pb.ClientShowUserMessageRequest{Msg: &pb.UserMessage{Message: "x", Refs: &pb.UserMessage_Refs{CommentId: new("abc")}},
		Recipient: &pb.ClientShowUserMessageRequest_UserTemp{UserTemp: userID}})
	wantCode("client_show_user_message with a non-numeric comment id", err, codes.InvalidArgument)

	_, err = srv.ClientOpenMediaFile(ctx, &pb.ClientOpenMediaFileRequest{Sid: sid, Id: "B1DE0"})
	if live {
		ok("client_open_media_file", err)
		_, err = srv.ClientOpenMediaFile(ctx, &pb.ClientOpenMediaFileRequest{Sid: sid, Id: "nope"})
		wantCode("client_open_media_file unknown media", err, codes.NotFound)
	} else {
		wantCode("client_open_media_file made-up sid", err, codes.NotFound)
	}
	_, err = srv.ClientOpenMediaFile(ctx, &pb.ClientOpenMediaFileRequest{Sid: "no-such-sid", Id: "B1DE0"})
	wantCode("client_open_media_file unknown sid", err, codes.NotFound)

	// delete_media_file: trash, then it is gone.
	_, err = srv.DeleteMediaFile(ctx, &pb.DeleteMediaFileRequest{Id: "B1DE4"})
	if ok("delete_media_file", err) {
		got, err := srv.DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_Ids{Ids: &pb.IdList{Ids: []string{"B1DE4"}}}})
		if ok("DbGetMediaFiles after delete", err) && len(got.GetItems()) != 0 {
			fail("delete_media_file: B1DE4 still there")
		}
	}
	_, err = srv.DeleteMediaFile(ctx, &pb.DeleteMediaFileRequest{Id: "B1DE4"})
	wantCode("delete_media_file again", err, codes.NotFound)
	_, err = srv.DeleteMediaFile(ctx, &pb.DeleteMediaFileRequest{})
	wantCode("delete_media_file without id", err, codes.InvalidArgument)

	// DbDelete of a comment.
	if comment != nil {
		del, err := srv.DbDelete(ctx, &pb.DbDeleteRequest{CommentIds: []string{comment.GetId()}})
		if ok("DbDelete comment", err) && del.GetCommentsDeleted() != 1 {
			fail("DbDelete comment: %v", del)
		}
	}
	_, err = srv.DbDelete(ctx, &pb.DbDeleteRequest{CommentIds: []string{"zz"}})
	wantCode("DbDelete bad comment id", err, codes.InvalidArgument)
	return failures
}
