package folders_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clapshot-go/clapshot/internal/app"
	"github.com/clapshot-go/clapshot/internal/config"
	"github.com/clapshot-go/clapshot/internal/organizer"
	"github.com/clapshot-go/clapshot/internal/orgtest"
	"github.com/clapshot-go/clapshot/internal/store"
	"github.com/clapshot-go/clapshot/internal/testsupport/mediatest"
	"github.com/clapshot-go/clapshot/internal/testsupport/pgtest"
	"github.com/clapshot-go/clapshot/internal/testsupport/servertest"
	"github.com/clapshot-go/clapshot/internal/testsupport/testkit"
	"github.com/clapshot-go/clapshot/internal/testsupport/wsclient"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// orgBin is the organizer binary, built once from cmd/clapshot-organizer-folders:
// the server runs the real program, as it would in production.
var orgBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "folders-bin")
	if err != nil {
		panic(err)
	}
	orgBin = filepath.Join(dir, "clapshot-organizer-folders")
	out, err := exec.Command("go", "build", "-o", orgBin, "github.com/clapshot-go/clapshot/cmd/clapshot-organizer-folders").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the organizer failed: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Main(m) // stops the PostgreSQL server the postgres backend starts
	os.RemoveAll(dir)
	os.Exit(code)
}

// backend is where a test server keeps its database. The tests that work
// through the server run on each (eachBackend): one suite, two backends,
// as the store's. The organizer is told the database by the server.
type backend struct {
	name string
	// dbURL is the --db-url of a new database, "" for the data
	// directory's SQLite file.
	dbURL func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(*testing.T) string { return "" }},
	// A real server (pgtest): skipped where PostgreSQL is not installed,
	// a failure under CI=true.
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

func eachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// dbArgs is the command line for a database at u ("" for SQLite).
func dbArgs(u string) []string {
	if u == "" {
		return nil
	}
	return []string{"--db-url", u}
}

func shortDir(t *testing.T) string { return servertest.ShortDir(t) }

func cfgFor(t *testing.T, dir string, args ...string) *config.Config {
	return servertest.Config(t, dir, args...)
}

type server struct {
	app  *app.App
	base string
	log  *testkit.SyncBuffer
	stop func()
}

func start(t *testing.T, dir string, args ...string) (*server, error) {
	t.Helper()
	ts, err := servertest.StartServer(t, dir, args, app.WithOrganizerOptions(func(o *organizer.Options) {
		o.RestartMin = 200 * time.Millisecond
	}))
	if err != nil {
		return nil, err
	}
	return &server{app: ts.App, base: ts.Base, log: ts.Log, stop: ts.Stop}, nil
}

func (s *server) dial(t *testing.T, id, name string, admin bool) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, s.base, wsclient.User{ID: id, Name: name, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// The organizer's actions come with every new session.
	if _, _, err := c.Wait(ctx, 10*time.Second, func(m *pb.ServerToClientCmd) bool {
		return m.GetDefineActions().GetActions()["on_media_file_added"] != nil
	}); err != nil {
		t.Fatalf("no organizer actions: %v", err)
	}
	return c
}

func send(t *testing.T, c *wsclient.Client, cmd *pb.ClientToServerCmd) {
	t.Helper()
	if err := c.Send(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// nextPage waits for the next page, failing on an error shown meanwhile.
func nextPage(t *testing.T, c *wsclient.Client) *pb.ServerToClientCmd_ShowPage {
	t.Helper()
	m, skipped, err := c.Wait(context.Background(), 20*time.Second, wsclient.Page)
	if err != nil {
		t.Fatalf("no page: %v", err)
	}
	if slices.ContainsFunc(skipped, wsclient.Error) {
		t.Fatalf("error before the page: %s", wsclient.Describe(skipped))
	}
	return m.GetShowPage()
}

// listing is a page's folder listing (the first one).
func listing(p *pb.ServerToClientCmd_ShowPage) *pb.PageItem_FolderListing {
	for _, it := range p.GetPageItems() {
		if l := it.GetFolderListing(); l != nil {
			return l
		}
	}
	return nil
}

// names lists a listing's items: folder titles and media file ids.
func names(l *pb.PageItem_FolderListing) []string {
	var out []string
	for _, it := range l.GetItems() {
		if f := it.GetFolder(); f != nil {
			out = append(out, "folder:"+f.GetTitle())
		} else {
			out = append(out, it.GetMediaFile().GetId())
		}
	}
	return out
}

func folderID(t *testing.T, l *pb.PageItem_FolderListing, title string) string {
	t.Helper()
	for _, it := range l.GetItems() {
		if it.GetFolder().GetTitle() == title {
			return it.GetFolder().GetId()
		}
	}
	t.Fatalf("no folder %q in %v", title, names(l))
	return ""
}

func html(p *pb.ServerToClientCmd_ShowPage) string {
	var b strings.Builder
	for _, it := range p.GetPageItems() {
		b.WriteString(it.GetHtml())
	}
	return b.String()
}

// upload posts a file to /api/upload as the web client does, with the
// listing's data and the organizer's media_file_added_action in the
// cookies header, and returns the MEDIA_FILE_ADDED message's media id and
// the cookies it carries back.
func upload(t *testing.T, s *server, c *wsclient.Client, user, file string, l *pb.PageItem_FolderListing, extra ...string) (string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("fileupload", filepath.Base(file))
	part.Write(data)
	mw.Close()
	listingJSON, _ := json.Marshal(l.GetListingData())
	cookies, _ := json.Marshal(map[string]string{"listing_data_json": string(listingJSON), "media_file_added_action": l.GetMediaFileAddedAction()})
	req, _ := http.NewRequest("POST", s.base+"/api/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Remote-User-Id", user)
	req.Header.Set("X-Remote-User-Name", "Name of "+user)
	req.Header.Set("X-Clapshot-Cookies", string(cookies))
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	m, _, err := c.Wait(context.Background(), 60*time.Second, func(m *pb.ServerToClientCmd) bool {
		msgs := m.GetShowMessages().GetMsgs()
		return len(msgs) > 0 && msgs[0].GetType() == pb.UserMessage_MEDIA_FILE_ADDED
	})
	if err != nil {
		t.Fatalf("no MEDIA_FILE_ADDED: %v", err)
	}
	msg := m.GetShowMessages().GetMsgs()[0]
	back := map[string]string{}
	if err := json.Unmarshal([]byte(msg.GetDetails()), &back); err != nil {
		t.Fatalf("MEDIA_FILE_ADDED details %q: %v", msg.GetDetails(), err)
	}
	return msg.GetRefs().GetMediaFileId(), back
}

// The folder UI end to end: the server starts the Go organizer as a
// subprocess over Unix sockets, and websocket clients use it as the web
// client would.
func TestFoldersThroughTheWebsocket(t *testing.T) { eachBackend(t, testFoldersThroughTheWebsocket) }

func testFoldersThroughTheWebsocket(t *testing.T, b backend) {
	mediatest.Require(t)
	dir := shortDir(t)
	s := startWithFixture(t, dir, b)
	if st := s.app.Organizer.Status(); st["state"] != organizer.StateConnected || st["name"] != "clapshot.organizer.basic_folders" {
		t.Fatalf("organizer %v", st)
	}
	if !strings.Contains(s.log.String(), `msg="[organizer] [folders] Organizer listening bind=`) {
		t.Errorf("the organizer's log lines are not in the server log")
	}
	c := s.dial(t, "user.num1", "User Number1", false)

	// Home: the user's orphan media files were adopted.
	send(t, c, wsclient.OpenNavigationPage(""))
	home := nextPage(t, c)
	if html(home) != "<h3>Home</h3>" || home.GetPageTitle() != "Home of 'User Number1'" {
		t.Fatalf("home page %q, title %q", html(home), home.GetPageTitle())
	}
	l := listing(home)
	if got := names(l); !slices.Equal(sortedCopy(got), []string{"22222", "B1DE0", "B1DE4"}) {
		t.Fatalf("home lists %v", got)
	}
	homeID := l.GetListingData()["folder_id"]
	mine := names(l)

	// Create folders.
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Project"}))
	_ = listing(nextPage(t, c))
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Archive"}))
	l = listing(nextPage(t, c))
	projectID, archiveID := folderID(t, l, "Project"), folderID(t, l, "Archive")
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Project"}))
	if _, _, err := c.Wait(context.Background(), 20*time.Second, wsclient.Message("already exists")); err != nil {
		t.Errorf("duplicate folder name: %v", err)
	}

	// Move a media file into Project, from the home listing.
	send(t, c, wsclient.MoveToFolder(projectID, []*pb.FolderItemID{wsclient.Media(mine[0])}, l.GetListingData()))
	l = listing(nextPage(t, c))
	if slices.Contains(names(l), mine[0]) {
		t.Errorf("moved file still at home: %v", names(l))
	}

	// Reorder home: the order sticks.
	order := []*pb.FolderItemID{wsclient.Media(mine[1]), wsclient.Folder(archiveID), wsclient.Folder(projectID), wsclient.Media(mine[2])}
	send(t, c, wsclient.ReorderItems(order, l.GetListingData()))
	send(t, c, wsclient.OpenNavigationPage(""))
	if got := names(listing(nextPage(t, c))); !slices.Equal(got, []string{mine[1], "folder:Archive", "folder:Project", mine[2]}) {
		t.Errorf("order after reorder: %v", got)
	}

	// Open Project: breadcrumbs, the path cookie, the page id, "up".
	send(t, c, wsclient.OrganizerCmd("open_folder", map[string]any{"id": projectID}))
	p := nextPage(t, c)
	if !strings.Contains(html(p), ">[Home]</a>") || !strings.Contains(html(p), "<strong>Project</strong>") {
		t.Errorf("breadcrumbs %q", html(p))
	}
	if p.GetPageId() != homeID+"."+projectID || c.Cookies()["folder_path"] != "["+homeID+","+projectID+"]" {
		t.Errorf("page id %q, cookies %v", p.GetPageId(), c.Cookies())
	}
	l = listing(p)
	if got := names(l); !slices.Equal(got, []string{mine[0]}) || l.GetListingData()["parent_folder_id"] != homeID {
		t.Errorf("Project lists %v, listing data %v", got, l.GetListingData())
	}

	// Upload into Project: the client runs on_media_file_added, which moves
	// the new file into the folder the upload was dropped in.
	clip := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	newID, back := upload(t, s, c, "user.num1", clip, l)
	var listingData map[string]string
	if err := json.Unmarshal([]byte(back["listing_data_json"]), &listingData); err != nil || back["media_file_added_action"] != "on_media_file_added" {
		t.Fatalf("upload cookies came back as %v", back)
	}
	send(t, c, wsclient.MoveToFolder(listingData["folder_id"], []*pb.FolderItemID{wsclient.Media(newID)}, listingData))
	if got := names(listing(nextPage(t, c))); !slices.Contains(got, newID) {
		t.Errorf("upload not in Project: %v", got)
	}

	// Up: move the upload to the parent folder.
	send(t, c, wsclient.MoveToFolder(listingData["parent_folder_id"], []*pb.FolderItemID{wsclient.Media(newID)}, listingData))
	if got := names(listing(nextPage(t, c))); slices.Contains(got, newID) {
		t.Errorf("upload still in Project after moving up: %v", got)
	}

	// Rename, then trash Project with its media file.
	send(t, c, wsclient.OrganizerCmd("rename_folder", map[string]any{"id": archiveID, "new_name": "Old stuff"}))
	nextPage(t, c)
	send(t, c, wsclient.OrganizerCmd("trash_folder", map[string]any{"id": projectID}))
	p = nextPage(t, c)
	if got := names(listing(p)); slices.Contains(got, "folder:Project") || !slices.Contains(got, "folder:Old stuff") || !slices.Contains(got, newID) {
		t.Errorf("after trashing Project: %v (%s)", got, html(p))
	}
	if trashed, _ := filepath.Glob(filepath.Join(dir, "videos", "trash", mine[0]+"_*")); len(trashed) != 1 {
		t.Errorf("media file %s of the trashed folder not in videos/trash", mine[0])
	}

	// Another user cannot open this user's folders; an admin can browse them.
	other := s.dial(t, "user.num2", "User Number2", false)
	send(t, other, wsclient.OrganizerCmd("open_folder", map[string]any{"id": homeID}))
	if _, _, err := other.Wait(context.Background(), 20*time.Second, wsclient.Message("Cannot open another user's folder")); err != nil {
		t.Errorf("other user: %v", err)
	}
	admin := s.dial(t, "admin", "Admin", true)
	send(t, admin, wsclient.OpenNavigationPage(""))
	p = nextPage(t, admin)
	if !strings.Contains(html(p), "User Folders") {
		t.Fatalf("admin home without the user folders: %q", html(p))
	}
	users := listing(&pb.ServerToClientCmd_ShowPage{PageItems: p.GetPageItems()[len(p.GetPageItems())-1:]})
	if got := names(users); !slices.Contains(got, "folder:user.num1") || !slices.Contains(got, "folder:user.num2") {
		t.Fatalf("admin sees homes %v", got)
	}
	send(t, admin, wsclient.OrganizerCmd("open_folder", map[string]any{"id": folderID(t, users, "user.num1")}))
	p = nextPage(t, admin)
	if got := names(listing(p)); !slices.Contains(got, "folder:Old stuff") || p.GetPageTitle() != "Home of 'User Number1'" {
		t.Errorf("admin browsing user.num1: %v, title %q", got, p.GetPageTitle())
	}
}

// startWithFixture starts a server with the folders organizer on
// Clapshot's test fixture in dir, its database on b; args are added.
func startWithFixture(t *testing.T, dir string, b backend, args ...string) *server {
	t.Helper()
	u := b.dbURL(t)
	if err := orgtest.SeedFixtureIn(context.Background(), dir, u); err != nil {
		t.Fatal(err)
	}
	s, err := start(t, dir, append(append([]string{"--org-cmd", orgBin}, dbArgs(u)...), args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// The organizer's own tests, each against a fresh server, through the
// harness of clapshot-server --org-test (on PostgreSQL, each with a
// database of its own).
func TestSelfTestsThroughTheHarness(t *testing.T) { eachBackend(t, testSelfTestsThroughTheHarness) }

func testSelfTestsThroughTheHarness(t *testing.T, b backend) {
	opt := orgtest.Options{Config: cfgFor(t, shortDir(t), "--org-cmd", orgBin)}
	if b.name != "sqlite" {
		opt.NewDatabase = func(context.Context) (string, error) { return b.dbURL(t), nil }
	}
	results, _, err := orgtest.Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	failed := orgtest.PrintTable(&out, results)
	t.Logf("\n%s", out.String())
	if failed > 0 || len(results) < 10 {
		for _, r := range results {
			if !r.Passed {
				log, _ := os.ReadFile(filepath.Join(r.Dir, "server.log"))
				t.Logf("%s log:\n%s", r.Name, log)
			}
		}
		t.Fatalf("%d of %d self-tests failed", failed, len(results))
	}
}

// v061Database makes a database as Clapshot 0.6.1 with the Python
// basic_folders left it: server schema at 20240513093800 (media still in
// "videos"), basic_folders at 0001_initial_schema with bf_folder_items
// still pointing at videos.
func v061Database(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(dir, "clapshot.sqlite")
	if err := store.CreateAtVersion(ctx, dbPath, "20240513093800"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE __bf_schema_migrations (version VARCHAR NOT NULL, migration_uuid VARCHAR NOT NULL, run_on DATETIME NOT NULL, PRIMARY KEY (version))`,
		`INSERT INTO __bf_schema_migrations VALUES ('0001_initial_schema', 'basic_folders_2024-05-01_1610', '2024-05-14 23:35:09')`,
		`CREATE TABLE bf_folders (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, created DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
			user_id VARCHAR(255) NOT NULL REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, title VARCHAR(255) NOT NULL)`,
		`CREATE TABLE bf_folder_items (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
			folder_id INTEGER NOT NULL REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE, sort_order INTEGER NOT NULL DEFAULT 0,
			video_id VARCHAR(255) UNIQUE REFERENCES videos(id) ON UPDATE CASCADE ON DELETE CASCADE,
			subfolder_id INTEGER UNIQUE REFERENCES bf_folders(id) ON UPDATE CASCADE ON DELETE CASCADE,
			CHECK ((video_id IS NOT NULL AND subfolder_id IS NULL) OR (video_id IS NULL AND subfolder_id IS NOT NULL)),
			CHECK (folder_id != subfolder_id))`,
		`INSERT INTO users (id, name) VALUES ('docker', 'Docker User')`,
		`INSERT INTO videos (id, user_id, orig_filename, title, recompression_done) VALUES ('7a0d17c8', 'docker', 'a.mp4', 'a.mp4', '2024-05-14 23:36:00'),
			('41967bb4', 'docker', 'b.mp4', 'b.mp4', '2024-05-14 23:37:00')`,
		`INSERT INTO bf_folders (id, user_id, title) VALUES (1, 'docker', 'Home of ''docker'''), (2, 'docker', 'sdf'), (3, 'docker', 'mvbcvb')`,
		`INSERT INTO bf_folder_items (folder_id, sort_order, video_id, subfolder_id) VALUES (1, -1, '7a0d17c8', NULL), (2, 1, '41967bb4', NULL),
			(1, 0, NULL, 2), (2, 0, NULL, 3)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A Clapshot 0.6.1 database with folders migrates with or without the
// organizer, and the user keeps their folders either way. Without it, the
// server's rename of videos to media_files carries bf_folder_items'
// reference along (before, the foreign key check failed and the backup was
// restored); with it, the two are solved jointly (the organizer's rename
// runs right after media_files appears). SQLite only: Clapshot's
// databases are SQLite files (--migrate-to moves them to PostgreSQL).
func TestClapshot061DatabaseKeepsItsFolders(t *testing.T) {
	t.Run("without the organizer, then with it", func(t *testing.T) {
		dir := shortDir(t)
		v061Database(t, dir)
		s, err := start(t, dir)
		if err != nil {
			t.Fatalf("migrating without the organizer: %v", err)
		}
		var items int
		if err := s.app.DB.SQL().QueryRow(`SELECT count(*) FROM bf_folder_items i LEFT JOIN media_files m ON m.id = i.video_id
			WHERE i.video_id IS NULL OR m.id IS NOT NULL`).Scan(&items); err != nil || items != 4 {
			t.Fatalf("folder items after migrating without the organizer: %d (%v), want 4", items, err)
		}
		s.stop()
		// The organizer, configured later, finds its own migration pending
		// and the folders as they were.
		s, err = start(t, dir, "--org-cmd", orgBin)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.log.String(), "clapshot.organizer.basic_folders 0002_media_file_renamed") {
			t.Errorf("the organizer's migration did not run")
		}
		checkV061Folders(t, s)
	})
	t.Run("with the organizer", func(t *testing.T) {
		dir := shortDir(t)
		v061Database(t, dir)
		s, err := start(t, dir, "--org-cmd", orgBin)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"clapshot.server 20240522163000", "clapshot.organizer.basic_folders 0002_media_file_renamed", "clapshot.server 20240530202000"} {
			if !strings.Contains(s.log.String(), want) {
				t.Errorf("log lacks migration step %q", want)
			}
		}
		i1 := strings.Index(s.log.String(), `step="clapshot.server 20240522163000`)
		i2 := strings.Index(s.log.String(), `step="clapshot.organizer.basic_folders 0002_media_file_renamed`)
		i3 := strings.Index(s.log.String(), `step="clapshot.server 20240530202000`)
		if !(i1 < i2 && i2 < i3) {
			t.Errorf("the organizer's migration did not run between the server's (%d %d %d)", i1, i2, i3)
		}
		checkV061Folders(t, s)
	})
}

// checkV061Folders checks that v061Database's user sees their folders.
func checkV061Folders(t *testing.T, s *server) {
	t.Helper()
	c := s.dial(t, "docker", "Docker User", false)
	send(t, c, wsclient.OpenNavigationPage(""))
	p := nextPage(t, c)
	if got := names(listing(p)); !slices.Equal(got, []string{"7a0d17c8", "folder:sdf"}) || p.GetPageTitle() != "Home of 'docker'" {
		t.Fatalf("home after the upgrade: %v, title %q", got, p.GetPageTitle())
	}
	send(t, c, wsclient.OrganizerCmd("open_folder", map[string]any{"id": 2}))
	if got := names(listing(nextPage(t, c))); !slices.Equal(got, []string{"folder:mvbcvb", "41967bb4"}) {
		t.Fatalf("folder sdf after the upgrade: %v", got)
	}
}

// A version stack is one item in a folder: a new version uploaded onto a
// filed media file is not adopted into the home folder, and the folder
// shows the stack as its newest ready version.
func TestFolderShowsAStackOnce(t *testing.T) { eachBackend(t, testFolderShowsAStackOnce) }

func testFolderShowsAStackOnce(t *testing.T, b backend) {
	mediatest.Require(t)
	s := startWithFixture(t, shortDir(t), b)
	c := s.dial(t, "user.num1", "User Number1", false)
	send(t, c, wsclient.OrganizerCmd("new_folder", map[string]string{"name": "Cuts"}))
	l := listing(nextPage(t, c))
	cuts := folderID(t, l, "Cuts")
	send(t, c, wsclient.MoveToFolder(cuts, []*pb.FolderItemID{wsclient.Media("B1DE0")}, l.GetListingData()))
	nextPage(t, c)

	// Version 2 of B1DE0, as the web client uploads it (no folder action).
	clip := mediatest.Make(t, t.TempDir(), mediatest.Families["h264_mp4"], mediatest.Small)
	v2, _ := upload(t, s, c, "user.num1", clip, &pb.PageItem_FolderListing{}, "X-Clapshot-Version-Of", "B1DE0")

	send(t, c, wsclient.OpenNavigationPage(""))
	if got := names(listing(nextPage(t, c))); slices.Contains(got, v2) || slices.Contains(got, "B1DE0") {
		t.Errorf("home lists a version of the stack filed in Cuts: %v", got)
	}
	send(t, c, wsclient.OrganizerCmd("open_folder", map[string]any{"id": cuts}))
	l = listing(nextPage(t, c))
	if got := names(l); !slices.Equal(got, []string{v2}) {
		t.Fatalf("Cuts lists %v, want the stack once, as version 2 (%s)", got, v2)
	}
	if vs := l.GetItems()[0].GetMediaFile().GetVersionStack(); vs.GetStackId() != "B1DE0" || vs.GetVersion() != 2 || vs.GetCount() != 2 {
		t.Errorf("the stack's item: %v", vs)
	}
	if !strings.Contains(l.GetItems()[0].GetOpenAction().GetCode(), v2) {
		t.Errorf("opening the item opens %q, want version 2", l.GetItems()[0].GetOpenAction().GetCode())
	}
}
