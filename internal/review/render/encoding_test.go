package render

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/clapshot-go/clapshot/internal/mediadir"
	"github.com/clapshot-go/clapshot/internal/pbconv"
	"github.com/clapshot-go/clapshot/internal/store"
	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// The assembled encodings say exactly what protojson says.
func TestFastEncodingsMatchProtojson(t *testing.T) {
	r := New(nil, nil, mediadir.URLs{}, nil)
	now := time.Date(2024, 5, 2, 19, 40, 46, 123000000, time.UTC)
	var files []*pb.MediaFile
	for i, thumb := range []bool{true, false} {
		m := store.MediaFile{ID: []string{"aaaa0001", "aaaa0002"}[i], UserID: "u", AddedTime: now, Title: new("A \"quoted\" <title> & more"),
			OrigFilename: new("x.mov"), MediaType: new("audio"), HasThumbnail: new(thumb), Duration: new(1.5), TotalFrames: new(int64(1 << 40)), FPS: new("25")}
		files = append(files, pbconv.MediaFile(m, []store.Subtitle{{ID: 3, MediaFileID: m.ID, Title: "t", OrigFilename: "a.srt", TimeOffset: -0.25}}, mediadir.URLs{}, pbconv.MediaFileOptions{}))
	}
	listing := FolderListing(files)
	listing.GetFolderListing().PopupActions = []string{"new_folder"}
	listing.GetFolderListing().ListingData = map[string]string{"folder_id": "7"}
	listing.GetFolderListing().MediaFileAddedAction = new("on_added")
	pages := [][]*pb.PageItem{
		nil,
		{{Item: &pb.PageItem_Html{Html: "<h2>\u2028x</h2>"}}},
		{{Item: &pb.PageItem_Html{Html: "<h2>All</h2>"}}, listing, FolderListing(nil)},
	}
	for _, items := range pages {
		for _, title := range []*string{nil, new("Your Media")} {
			want := showPage(items, new("p"), title)
			checkSame(t, r.ShowPage(items, new("p"), title), want)
			checkSame(t, r.ShowPage(items, new("p"), title), want) // from the cache
		}
	}
	img := "data:image/webp;base64,UklGRkwAAABXRUJQVlA4IEAAAAA"
	cs := []*pb.Comment{
		{Id: "1", MediaFileId: "m", Comment: "with drawing", Drawing: &img, Created: pbconv.Timestamp(now), TimecodeEnd: new("00:00:02:00")},
		{Id: "2", MediaFileId: "m", Comment: "empty drawing", Drawing: new(""), ParentId: new("1")},
		{Id: "3", MediaFileId: "m", Comment: "no drawing \u00e9 \"q\""},
		{Id: "4", MediaFileId: "m", Comment: "odd drawing", Drawing: new("data:text/plain,\"<x>\"")},
	}
	checkSame(t, r.encodeAddComments(cs), addComments(cs...))
	checkSame(t, r.encodeAddComments(nil), addComments())
}

func checkSame(t *testing.T, got []byte, want *pb.ServerToClientCmd) {
	t.Helper()
	var parsed pb.ServerToClientCmd
	if err := protojson.Unmarshal(got, &parsed); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if !proto.Equal(&parsed, want) {
		t.Errorf("differs\n got %s\nwant %s", got, encode(want))
	}
	var a, b any
	json.Unmarshal(got, &a)
	json.Unmarshal(encode(want), &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("JSON differs\n got %s\nwant %s", got, encode(want))
	}
}

// The protocol's messages as the review API builds them, to compare with.
func showPage(items []*pb.PageItem, pageID, title *string) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_ShowPage_{ShowPage: &pb.ServerToClientCmd_ShowPage{
		PageItems: items, PageId: pageID, PageTitle: title}}}
}

func addComments(cs ...*pb.Comment) *pb.ServerToClientCmd {
	return &pb.ServerToClientCmd{Cmd: &pb.ServerToClientCmd_AddComments_{AddComments: &pb.ServerToClientCmd_AddComments{Comments: cs}}}
}

func encode(cmd *pb.ServerToClientCmd) []byte {
	b, _ := jsonOut.Marshal(cmd)
	return b
}
