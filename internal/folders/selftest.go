package folders

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// Self-tests for list_tests / run_test. The server runs each against a
// fresh database seeded with Clapshot's test fixture (media files owned by
// user.num1 and user.num2) and a fresh organizer, after the handshake.
// They cover what basic_folders' own org_test_* functions do, and more.
var selfTests = map[string]func(ctx context.Context, t *tester){
	"org_test__start_user_session":             testStartUserSession,
	"org_test__navigate_page":                  testNavigatePage,
	"org_test__authz_user_action":              testAuthz,
	"org_test__move_to_folder":                 testMoveToFolder,
	"org_test__reorder_items":                  testReorder,
	"org_test__cmd_from_client__new_folder":    testNewFolder,
	"org_test__cmd_from_client__open_folder":   testOpenFolder,
	"org_test__cmd_from_client__rename_folder": testRenameFolder,
	"org_test__cmd_from_client__trash_folder":  testTrashFolder,
	"org_test__admin_owner_transfer":           testAdminOwnerTransfer,
	"org_test__folder_loops_refused":           testFolderLoops,
	"org_test__breadcrumbs_and_up":             testBreadcrumbs,
	"org_test__integrity_repair":               testIntegrity,
	"org_test__admin_sees_all_homes":           testAdminHomes,
}

func (o *Organizer) ListTests(context.Context, *pb.Empty) (*pb.ListTestsResponse, error) {
	names := make([]string, 0, len(selfTests))
	for n := range selfTests {
		names = append(names, n)
	}
	sort.Strings(names)
	return &pb.ListTestsResponse{TestNames: names}, nil
}

// RunTest runs one self-test; a failure is the response's error, with
// what the test printed as its output.
func (o *Organizer) RunTest(ctx context.Context, req *pb.RunTestRequest) (res *pb.RunTestResponse, _ error) {
	test, ok := selfTests[req.GetTestName()]
	if !ok {
		return &pb.RunTestResponse{Error: new(fmt.Sprintf("no test named %q", req.GetTestName()))}, nil
	}
	if err := o.ready(); err != nil {
		return nil, err
	}
	t := &tester{o: o}
	defer func() {
		switch p := recover().(type) {
		case nil:
			res = &pb.RunTestResponse{Output: t.out.String()}
		case failure:
			res = &pb.RunTestResponse{Output: t.out.String(), Error: new(p.err.Error())}
		default:
			res = &pb.RunTestResponse{Output: t.out.String(), Error: new(fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))}
		}
	}()
	o.log.Info("Running self-test", "test", req.GetTestName())
	test(ctx, t)
	return nil, nil // set by the deferred function
}

type tester struct {
	o   *Organizer
	out strings.Builder
}

func (t *tester) logf(format string, args ...any) { fmt.Fprintf(&t.out, format+"\n", args...) }

// failure ends a test from anywhere inside it (RunTest recovers it).
type failure struct{ err error }

// must stops the test on an error from a step that should not fail.
func (t *tester) must(err error) {
	if err != nil {
		panic(failure{err})
	}
}

// check stops the test when an assertion is false.
func (t *tester) check(ok bool, format string, args ...any) {
	if !ok {
		panic(failure{fmt.Errorf(format, args...)})
	}
}

// code checks that err has a gRPC status code.
func (t *tester) code(what string, err error, want codes.Code) {
	t.check(status.Code(err) == want, "%s: got %v, want %s", what, err, want)
}

func session(id, name string, admin bool) *pb.UserSessionData {
	return &pb.UserSessionData{Sid: "test_sid", User: &pb.UserInfo{Id: id, Name: name}, IsAdmin: admin, Cookies: map[string]string{}}
}

func (t *tester) addUser(ctx context.Context, id, name string) *pb.UserSessionData {
	_, err := t.o.db.ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", id, name)
	t.must(err)
	return session(id, name, false)
}

func (t *tester) home(ctx context.Context, ses *pb.UserSessionData) *folder {
	path, err := t.o.folderPath(ctx, ses, nil, false)
	t.must(err)
	return path[0]
}

// mkdirs makes a chain of folders, each inside the one before.
func (t *tester) mkdirs(ctx context.Context, ses *pb.UserSessionData, parent *folder, names ...string) []*folder {
	var out []*folder
	for _, name := range names {
		t.must(t.o.db.InTx(ctx, func(tx querier) error {
			f, err := createFolder(ctx, tx, ses, parent, name)
			parent = f
			return err
		}))
		out = append(out, parent)
	}
	return out
}

func (t *tester) mkdir(ctx context.Context, ses *pb.UserSessionData, parent *folder, name string) *folder {
	return t.mkdirs(ctx, ses, parent, name)[0]
}

func (t *tester) refetch(ctx context.Context, f *folder) *folder {
	f, err := getFolder(ctx, t.o.db, f.ID)
	t.must(err)
	return f
}

func (t *tester) move(ctx context.Context, ses *pb.UserSessionData, dst *folder, ids ...*pb.FolderItemID) error {
	return t.o.move(ctx, ses, strconv.FormatInt(dst.ID, 10), ids)
}

func mediaItem(id string) *pb.FolderItemID {
	return &pb.FolderItemID{Item: &pb.FolderItemID_MediaFileId{MediaFileId: id}}
}

func folderItem(f *folder) *pb.FolderItemID {
	return &pb.FolderItemID{Item: &pb.FolderItemID_FolderId{FolderId: strconv.FormatInt(f.ID, 10)}}
}

func fid(f *folder) string { return "f" + strconv.FormatInt(f.ID, 10) }

// ids lists a folder's items as "f<id>" and "m<id>", in display order.
func (t *tester) ids(ctx context.Context, f *folder, ses *pb.UserSessionData) []string {
	items, err := contents(ctx, t.o.db, f, ses)
	t.must(err)
	var out []string
	for _, e := range items {
		if e.Folder != nil {
			out = append(out, fid(e.Folder))
		} else {
			out = append(out, "m"+e.MediaID)
		}
	}
	return out
}

func (t *tester) subfolders(ctx context.Context, f *folder, ses *pb.UserSessionData) []string {
	items, err := contents(ctx, t.o.db, f, ses)
	t.must(err)
	var out []string
	for _, e := range items {
		if e.Folder != nil {
			out = append(out, e.Folder.Title)
		}
	}
	return out
}

func (t *tester) cmd(ctx context.Context, ses *pb.UserSessionData, cmd, args string) error {
	_, err := t.o.CmdFromClient(ctx, &pb.CmdFromClientRequest{Ses: ses, Cmd: cmd, Args: args})
	return err
}

func (t *tester) allMedia(ctx context.Context) []*pb.MediaFile {
	res, err := t.o.srv().DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_All{All: &pb.Empty{}}})
	t.must(err)
	return res.GetItems()
}

func (t *tester) mediaExists(ctx context.Context, id string) bool {
	res, err := t.o.srv().DbGetMediaFiles(ctx, &pb.DbGetMediaFilesRequest{Filter: &pb.DbGetMediaFilesRequest_Ids{Ids: &pb.IdList{Ids: []string{id}}}})
	t.must(err)
	return len(res.GetItems()) > 0
}

// fixture is the test database as a user sees it: the owner of the first
// fixture media file, with a session and home folder, a file of another
// user's, and all files.
type fixture struct {
	mine, others *pb.MediaFile
	all          []*pb.MediaFile
	ses          *pb.UserSessionData
	home         *folder
}

func (t *tester) fixture(ctx context.Context) fixture {
	var f fixture
	f.all = t.allMedia(ctx)
	t.check(len(f.all) >= 2, "the test database has %d media files; the fixture has 5", len(f.all))
	f.mine = f.all[0]
	for _, m := range f.all {
		if m.GetUserId() != f.mine.GetUserId() {
			f.others = m
		}
	}
	t.check(f.others != nil, "all fixture media files belong to %s", f.mine.GetUserId())
	f.ses = session(f.mine.GetUserId(), "Name of "+f.mine.GetUserId(), false)
	f.home = t.home(ctx, f.ses)
	return f
}

// cmdSession is a new user with a home folder and nothing else.
func (t *tester) cmdSession(ctx context.Context) (*pb.UserSessionData, *folder) {
	ses := t.addUser(ctx, "cmdfromclient.test_user", "Cmdfromclient Test User")
	home := t.home(ctx, ses)
	t.check(len(t.ids(ctx, home, ses)) == 0, "a new user's home is not empty")
	t.check(home.Title == "Home of 'Cmdfromclient Test User'", "home folder title %q", home.Title)
	return ses, home
}

// ---- the tests ----

func testStartUserSession(ctx context.Context, t *tester) {
	_, err := t.o.OnStartUserSession(ctx, &pb.OnStartUserSessionRequest{Ses: session("user.num1", "User Number1", false)})
	t.must(err)
}

func testNavigatePage(ctx context.Context, t *tester) {
	fx := t.fixture(ctx)
	page, err := t.o.NavigatePage(ctx, &pb.NavigatePageRequest{Ses: fx.ses})
	t.must(err)
	t.check(len(page.GetPageItems()) >= 2 && page.GetPageItems()[0].GetHtml() == "<h3>Home</h3>", "unexpected page: %v", page)
	listing := page.GetPageItems()[1].GetFolderListing()
	want := 0
	for _, m := range fx.all {
		if m.GetUserId() == fx.mine.GetUserId() {
			want++
		}
	}
	t.check(len(listing.GetItems()) == want && listing.GetMediaFileAddedAction() == actionMediaAdded && listing.GetListingData()["folder_id"] != "",
		"home lists %d items (want the user's %d media files), listing data %v", len(listing.GetItems()), want, listing.GetListingData())
	for _, it := range listing.GetItems() {
		t.check(it.GetMediaFile().GetPlaybackUrl() != "", "listed media file without URLs: %v", it)
	}
	t.check(strings.HasPrefix(page.GetPageTitle(), "Home of '"), "title %q", page.GetPageTitle())
	t.logf("home of %s lists %d media files", fx.mine.GetUserId(), want)
}

func testAuthz(ctx context.Context, t *tester) {
	_, err := t.o.AuthzUserAction(ctx, &pb.AuthzUserActionRequest{})
	t.code("authz_user_action", err, codes.Unimplemented)
}

func testMoveToFolder(ctx context.Context, t *tester) {
	fx := t.fixture(ctx)
	t.check(slices.Contains(t.ids(ctx, fx.home, fx.ses), "m"+fx.mine.GetId()), "orphan %s not adopted into the home folder", fx.mine.GetId())
	t.code("moving another user's media file", t.move(ctx, fx.ses, fx.home, mediaItem(fx.others.GetId())), codes.PermissionDenied)
	sub := t.mkdir(ctx, fx.ses, fx.home, "Test Subfolder")
	_, err := t.o.MoveToFolder(ctx, &pb.MoveToFolderRequest{Ses: fx.ses, DstFolderId: strconv.FormatInt(sub.ID, 10), Ids: []*pb.FolderItemID{mediaItem(fx.mine.GetId())}})
	t.must(err)
	t.check(!slices.Contains(t.ids(ctx, fx.home, fx.ses), "m"+fx.mine.GetId()), "media file still in the home folder")
	got := t.ids(ctx, sub, fx.ses)
	t.check(slices.Equal(got, []string{"m" + fx.mine.GetId()}), "subfolder holds %v", got)
}

func testReorder(ctx context.Context, t *tester) {
	fx := t.fixture(ctx)
	sub1, sub2 := t.mkdir(ctx, fx.ses, fx.home, "Test Subfolder 1"), t.mkdir(ctx, fx.ses, fx.home, "Test Subfolder 2")
	// The user's other files out of the way; a folder inside sub2 must not
	// matter.
	for _, m := range fx.all {
		if m.GetId() != fx.mine.GetId() && m.GetUserId() == fx.mine.GetUserId() {
			t.must(t.move(ctx, fx.ses, sub1, mediaItem(m.GetId())))
		}
	}
	t.mkdir(ctx, fx.ses, sub2, "Test Subsubfolder")
	f1, f2, m := fid(sub1), fid(sub2), "m"+fx.mine.GetId()
	item := map[string]*pb.FolderItemID{f1: folderItem(sub1), f2: folderItem(sub2), m: mediaItem(fx.mine.GetId())}
	listing := map[string]string{"folder_id": strconv.FormatInt(fx.home.ID, 10)}
	for i, order := range [][]string{{f1, f2, m}, {m, f2, f1}, {f2, m, f1}} {
		var req []*pb.FolderItemID
		for _, s := range order {
			req = append(req, item[s])
		}
		_, err := t.o.ReorderItems(ctx, &pb.ReorderItemsRequest{Ses: fx.ses, Ids: req, ListingData: listing})
		t.must(err)
		got := t.ids(ctx, fx.home, fx.ses)
		t.logf("order #%d: want %v, got %v", i+1, order, got)
		t.check(slices.Equal(got, order), "order #%d: got %v, want %v", i+1, got, order)
	}
	_, err := t.o.ReorderItems(ctx, &pb.ReorderItemsRequest{Ses: fx.ses, Ids: []*pb.FolderItemID{item[m]}})
	t.code("reorder without a folder id", err, codes.Aborted)
}

func testNewFolder(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	ses.Cookies[PathCookie] = cookiePath([]*folder{home})
	t.must(t.cmd(ctx, ses, "new_folder", `{"name": "Test Folder"}`))
	t.check(slices.Equal(t.subfolders(ctx, home, ses), []string{"Test Folder"}), "home holds %v", t.subfolders(ctx, home, ses))
	// The same name again, an empty name, bad arguments: told, not done.
	for _, args := range []string{`{"name": "Test Folder"}`, `{"name": "  "}`, `not json`, `{"nom": "x"}`} {
		t.code("new_folder "+args, t.cmd(ctx, ses, "new_folder", args), codes.Aborted)
	}
	t.check(len(t.subfolders(ctx, home, ses)) == 1, "a refused new_folder made a folder: %v", t.subfolders(ctx, home, ses))
	t.code("unknown command", t.cmd(ctx, ses, "frobnicate", `{}`), codes.Aborted)
}

func testOpenFolder(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	f := t.mkdir(ctx, ses, home, "Test Folder")
	t.must(t.cmd(ctx, ses, "open_folder", fmt.Sprintf(`{"id": %d}`, f.ID)))
	want := cookiePath([]*folder{home, f})
	t.check(ses.GetCookies()[PathCookie] == want, "folder_path cookie %q, want %q", ses.GetCookies()[PathCookie], want)
	path, err := t.o.currentPath(ctx, ses)
	t.must(err)
	t.check(len(path) == 2 && path[1].ID == f.ID, "path %v", path)
	// And back up through the breadcrumbs.
	t.must(t.cmd(ctx, ses, "open_folder", fmt.Sprintf(`{"id": "%d"}`, home.ID)))
	t.check(ses.GetCookies()[PathCookie] == cookiePath([]*folder{home}), "after going up, folder_path %q", ses.GetCookies()[PathCookie])
	t.code("opening a folder that does not exist", t.cmd(ctx, ses, "open_folder", `{"id": 999999}`), codes.Aborted)
}

func testRenameFolder(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	f := t.mkdir(ctx, ses, home, "Test Folder")
	t.must(t.cmd(ctx, ses, "rename_folder", fmt.Sprintf(`{"id": "%d", "new_name": "Test Folder New Name"}`, f.ID)))
	t.check(t.refetch(ctx, f).Title == "Test Folder New Name", "title %q", t.refetch(ctx, f).Title)
	other := t.addUser(ctx, "someone.else", "Someone Else")
	t.code("renaming another user's folder", t.cmd(ctx, other, "rename_folder", fmt.Sprintf(`{"id": %d, "new_name": "x"}`, f.ID)), codes.Aborted)
}

func testTrashFolder(ctx context.Context, t *tester) {
	fx := t.fixture(ctx)
	chain := t.mkdirs(ctx, fx.ses, fx.home, "To be trashed", "Inner")
	t.must(t.move(ctx, fx.ses, chain[1], mediaItem(fx.mine.GetId())))
	t.must(t.cmd(ctx, fx.ses, "trash_folder", fmt.Sprintf(`{"id": %d}`, chain[0].ID)))
	t.check(len(t.subfolders(ctx, fx.home, fx.ses)) == 0, "folder not trashed: %v", t.subfolders(ctx, fx.home, fx.ses))
	_, err := getFolder(ctx, t.o.db, chain[1].ID)
	t.code("the inner folder", err, codes.NotFound)
	// Its media file went through the server's trash.
	t.check(!t.mediaExists(ctx, fx.mine.GetId()), "media file %s in the trashed folder still exists", fx.mine.GetId())
}

func testAdminOwnerTransfer(ctx context.Context, t *tester) {
	fx := t.fixture(ctx)
	owners := map[string]string{}
	for _, m := range fx.all {
		owners[m.GetId()] = m.GetUserId()
	}
	chain := t.mkdirs(ctx, fx.ses, fx.home, "Ownertransfer Test Folder", "Ownertransfer Test Subfolder")
	t.must(t.move(ctx, fx.ses, chain[1], mediaItem(fx.mine.GetId())))
	dstSes := t.addUser(ctx, "ownertransfer-test.dst_user", "Ownertransfer Test User")
	dst := t.mkdir(ctx, dstSes, t.home(ctx, dstSes), "Ownertransfer Destination Folder")
	// A user cannot put things into another user's folder...
	t.code("moving into another user's folder", t.move(ctx, fx.ses, dst, folderItem(chain[0])), codes.PermissionDenied)
	// ...an admin can, and the new folder's owner owns it all.
	admin := t.addUser(ctx, "test.admin", "The Admin")
	admin.IsAdmin = true
	_, err := t.o.MoveToFolder(ctx, &pb.MoveToFolderRequest{Ses: admin, DstFolderId: strconv.FormatInt(dst.ID, 10), Ids: []*pb.FolderItemID{folderItem(chain[0])}})
	t.must(err)
	for _, f := range chain {
		got := t.refetch(ctx, f)
		t.check(got.UserID == dstSes.GetUser().GetId(), "folder %d owned by %s after the move", f.ID, got.UserID)
	}
	owners[fx.mine.GetId()] = dstSes.GetUser().GetId()
	for _, m := range t.allMedia(ctx) {
		t.check(owners[m.GetId()] == m.GetUserId(), "media file %s owned by %s, want %s", m.GetId(), m.GetUserId(), owners[m.GetId()])
	}
	t.check(slices.Equal(t.ids(ctx, dst, dstSes), []string{fid(chain[0])}), "destination holds %v", t.ids(ctx, dst, dstSes))
	sub := t.refetch(ctx, chain[1])
	t.check(slices.Equal(t.ids(ctx, sub, dstSes), []string{"m" + fx.mine.GetId()}), "moved subfolder holds %v", t.ids(ctx, sub, dstSes))
}

func testFolderLoops(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	ab := t.mkdirs(ctx, ses, home, "A", "B")
	for _, dst := range ab {
		t.code("moving A into "+dst.Title, t.move(ctx, ses, dst, folderItem(ab[0])), codes.InvalidArgument)
	}
	t.code("moving the home folder", t.move(ctx, ses, ab[0], folderItem(home)), codes.InvalidArgument)
}

func testBreadcrumbs(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	chain := t.mkdirs(ctx, ses, home, "Alpha <&>", "Beta")
	a, b := chain[0], chain[1]
	page, err := t.o.page(ctx, ses, []*folder{home, a, b})
	t.must(err)
	crumbs := page.GetPageItems()[0].GetHtml()
	t.logf("breadcrumbs: %s", crumbs)
	for _, want := range []string{">[Home]</a>", fmt.Sprintf("{'id': %d}", a.ID), "Alpha &lt;&amp;&gt;</a>", "<strong>Beta</strong>"} {
		t.check(strings.Contains(crumbs, want), "breadcrumbs lack %q: %s", want, crumbs)
	}
	listing := page.GetPageItems()[1].GetFolderListing()
	t.check(listing.GetListingData()["parent_folder_id"] == strconv.FormatInt(a.ID, 10) && page.GetPageId() == pageID([]*folder{home, a, b}),
		"listing data %v, page id %q", listing.GetListingData(), page.GetPageId())
	// "Up": move_to_parent moves items to parent_folder_id.
	c := t.mkdir(ctx, ses, b, "Gamma")
	t.must(t.o.move(ctx, ses, listing.GetListingData()["parent_folder_id"], []*pb.FolderItemID{folderItem(c)}))
	t.check(slices.Contains(t.ids(ctx, a, ses), fid(c)), "Gamma not moved up: %v", t.ids(ctx, a, ses))
	// The page id of the URL opens the same place.
	nav, err := t.o.NavigatePage(ctx, &pb.NavigatePageRequest{Ses: ses, PageId: page.PageId})
	t.must(err)
	t.check(nav.GetPageTitle() == "Beta", "navigate_page %s: title %q", page.GetPageId(), nav.GetPageTitle())
}

func testIntegrity(ctx context.Context, t *tester) {
	ses, home := t.cmdSession(ctx)
	ab := t.mkdirs(ctx, ses, home, "A", "B")
	// A loop made behind our back: A is moved into B.
	_, err := t.o.db.ExecContext(ctx, "UPDATE bf_folder_items SET folder_id = ? WHERE subfolder_id = ?", ab[1].ID, ab[0].ID)
	t.must(err)
	report, err := checkIntegrity(ctx, t.o.db)
	t.must(err)
	t.logf("repairs: %v", report)
	t.check(len(report) == 1 && strings.Contains(report[0], "loop"), "repairs %v, want one loop broken", report)
	// The detached folder ends up in the home folder again.
	t.home(ctx, ses)
	var roots int
	t.must(t.o.db.QueryRowContext(ctx, `SELECT count(*) FROM bf_folders f WHERE user_id = ?
		AND NOT EXISTS (SELECT 1 FROM bf_folder_items i WHERE i.subfolder_id = f.id)`, ses.GetUser().GetId()).Scan(&roots))
	t.check(roots == 1, "%d top-level folders after the repair, want 1", roots)
}

func testAdminHomes(ctx context.Context, t *tester) {
	admin := t.addUser(ctx, "test.admin", "The Admin")
	admin.IsAdmin = true
	page, err := t.o.NavigatePage(ctx, &pb.NavigatePageRequest{Ses: admin})
	t.must(err)
	var homes *pb.PageItem_FolderListing
	for _, it := range page.GetPageItems() {
		if l := it.GetFolderListing(); l != nil {
			homes = l
		}
	}
	byUser := map[string]string{}
	for _, it := range homes.GetItems() {
		byUser[it.GetFolder().GetTitle()] = it.GetFolder().GetId()
	}
	t.logf("admin sees homes %v", byUser)
	t.check(byUser["user.num1"] != "" && byUser["user.num2"] != "" && byUser["test.admin"] == "", "admin's list of homes: %v", byUser)
	// The admin can open one; another user cannot.
	t.must(t.cmd(ctx, admin, "open_folder", fmt.Sprintf(`{"id": %s}`, byUser["user.num2"])))
	user := session("user.num1", "User Number1", false)
	t.code("a user opening another user's folder", t.cmd(ctx, user, "open_folder", fmt.Sprintf(`{"id": %s}`, byUser["user.num2"])), codes.Aborted)
}
