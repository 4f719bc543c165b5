package review_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// checkClientJSON checks a server message the way Clapshot's client
// (ts-proto fromJSON) needs it: only lowerCamelCase field names (it ignores
// snake_case ones), enums as names, 64-bit integers as strings, timestamps
// as RFC 3339 strings. It walks the JSON along the protobuf descriptors.
func checkClientJSON(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return checkMessage((&pb.ServerToClientCmd{}).ProtoReflect().Descriptor(), v, "$")
}

func checkMessage(md protoreflect.MessageDescriptor, v any, path string) error {
	if md.FullName() == "google.protobuf.Timestamp" {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: timestamp is not a string: %v", path, v)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%s: timestamp %q is not RFC 3339", path, s)
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: expected an object for %s, got %T", path, md.FullName(), v)
	}
	for k, val := range obj {
		var f protoreflect.FieldDescriptor
		for i := 0; i < md.Fields().Len(); i++ {
			if md.Fields().Get(i).JSONName() == k {
				f = md.Fields().Get(i)
			}
		}
		if f == nil {
			return fmt.Errorf("%s: key %q is not a lowerCamelCase field of %s", path, k, md.FullName())
		}
		p := path + "." + k
		switch {
		case f.IsMap():
			m, ok := val.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: map is not an object", p)
			}
			for mk, mv := range m {
				if err := checkValue(f.MapValue(), mv, p+"["+mk+"]"); err != nil {
					return err
				}
			}
		case f.IsList():
			l, ok := val.([]any)
			if !ok {
				return fmt.Errorf("%s: repeated field is not an array", p)
			}
			for i, e := range l {
				if err := checkValue(f, e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return err
				}
			}
		default:
			if err := checkValue(f, val, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkValue(f protoreflect.FieldDescriptor, v any, path string) error {
	switch f.Kind() {
	case protoreflect.MessageKind:
		return checkMessage(f.Message(), v, path)
	case protoreflect.EnumKind:
		s, ok := v.(string)
		if !ok || f.Enum().Values().ByName(protoreflect.Name(s)) == nil {
			return fmt.Errorf("%s: enum is not a value name: %v", path, v)
		}
	case protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: 64-bit integer is not a string: %v", path, v)
		}
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: not a string: %v", path, v)
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean: %v", path, v)
		}
	}
	return nil
}

// The frames Clapshot's web client sends (captured, clapshot-client.md
// §1.3), in the order of a review session, with the replies checked as
// that client reads them.
func TestReplayOriginalClientFrames(t *testing.T) {
	s := startServer(t)
	s.addMedia("ae813dc2", "alice", "video")
	c := s.dial("alice")
	peer := s.dial("bob") // a second viewer, to see the broadcasts
	// A blank canvas screenshot, as the client sends with every comment.
	drawing := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webpImage)
	vtt := base64.StdEncoding.EncodeToString([]byte("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n"))

	steps := []struct {
		frame   string
		replies []string // command keys expected, in order
		check   func(msgs []*pb.ServerToClientCmd)
	}{
		{`{"openNavigationPage":{},"cookies":{}}`, []string{"showPage"}, func(m []*pb.ServerToClientCmd) {
			items := m[0].GetShowPage().GetPageItems()[1].GetFolderListing().GetItems()
			if len(items) != 1 || items[0].GetMediaFile().GetId() != "ae813dc2" {
				t.Errorf("listing: %v", items)
			}
		}},
		{`{"listMyMessages":{},"cookies":{}}`, []string{"showMessages"}, nil},
		{`{"leaveCollab":{},"cookies":{}}`, nil, nil},
		{`{"openMediaFile":{"mediaFileId":"ae813dc2"},"cookies":{}}`, []string{"openMediaFile", "addComments"}, func(m []*pb.ServerToClientCmd) {
			// The client refuses a file without these.
			mf := m[0].GetOpenMediaFile().GetMediaFile()
			if mf.GetPlaybackUrl() == "" || mf.GetDuration() == nil || mf.GetTitle() == "" {
				t.Errorf("openMediaFile lacks what the client needs: %v", mf)
			}
		}},
		{`{"addComment":{"mediaFileId":"ae813dc2","comment":"Hello","drawing":"` + drawing + `","timecode":"00:00:00:03"},"cookies":{"audio_volume":"100"}}`,
			[]string{"addComments"}, func(m []*pb.ServerToClientCmd) {
				cm := m[0].GetAddComments().GetComments()[0]
				if cm.Id != "1" || cm.MediaFileId != "ae813dc2" || !strings.HasPrefix(cm.GetDrawing(), "data:image/webp;base64,") {
					t.Errorf("comment: %v", cm)
				}
			}},
		{`{"addComment":{"mediaFileId":"ae813dc2","comment":"untimed","drawing":"` + drawing + `","timecode":""},"cookies":{}}`, []string{"addComments"}, nil},
		{`{"addComment":{"mediaFileId":"ae813dc2","parentId":"1","comment":"a reply"},"cookies":{}}`, []string{"addComments"}, func(m []*pb.ServerToClientCmd) {
			if cm := m[0].GetAddComments().GetComments()[0]; cm.GetParentId() != "1" {
				t.Errorf("reply: %v", cm)
			}
		}},
		{`{"editComment":{"commentId":"2","newComment":"edited text"},"cookies":{}}`, []string{"delComment", "addComments"}, nil},
		{`{"delComment":{"commentId":"2"},"cookies":{}}`, []string{"delComment"}, nil},
		{`{"renameMediaFile":{"mediaFileId":"ae813dc2","newName":"Renamed by test"},"cookies":{}}`, []string{"showMessages"}, nil},
		{`{"addSubtitle":{"mediaFileId":"ae813dc2","fileName":"test.vtt","contentsBase64":"` + vtt + `"},"cookies":{}}`, []string{"openMediaFile", "addComments"}, nil},
		{`{"editSubtitleInfo":{"id":"1","title":"English","languageCode":"en","timeOffset":0.5,"isDefault":true},"cookies":{}}`, []string{"openMediaFile", "addComments"}, func(m []*pb.ServerToClientCmd) {
			if mf := m[0].GetOpenMediaFile().GetMediaFile(); mf.GetDefaultSubtitleId() != "1" || mf.Subtitles[0].TimeOffset != 0.5 {
				t.Errorf("subtitle edit: %v", mf)
			}
		}},
		{`{"joinCollab":{"collabId":"abc123","mediaFileId":"ae813dc2"},"cookies":{}}`, []string{"showMessages"}, nil},
		{`{"joinCollab":{"collabId":"abc123","mediaFileId":"ae813dc2"},"cookies":{}}`, nil, nil},
		{`{"collabReport":{"paused":true,"loop":false,"seekTimeSec":0.04001,"drawing":"` + drawing + `"},"cookies":{}}`, []string{"collabEvent"}, nil},
		{`{"moveToFolder":{"dstFolderId":"5","ids":[{"mediaFileId":"ae813dc2"},{"folderId":"7"}],"listingData":{"folder_id":"3"}},"cookies":{}}`, []string{"showMessages"}, nil},
		{`{"reorderItems":{"ids":[{"mediaFileId":"ae813dc2"}],"listingData":{}},"cookies":{}}`, []string{"showMessages"}, nil},
		{`{"organizerCmd":{"cmd":"new_folder","args":"{\"name\":\"x\"}"},"cookies":{}}`, nil, nil},
		{`{"delSubtitle":{"id":"1"},"cookies":{}}`, []string{"openMediaFile", "addComments"}, nil},
		{`{"delMediaFile":{"mediaFileId":"ae813dc2"},"cookies":{}}`, []string{"showMessages"}, func(m []*pb.ServerToClientCmd) {
			if msg := m[0].GetShowMessages().GetMsgs()[0]; msg.Message != "Video deleted." {
				t.Errorf("delete: %v", msg)
			}
		}},
	}
	peer.openMedia("ae813dc2")
	for _, st := range steps {
		c.sendRaw(st.frame)
		var got []*pb.ServerToClientCmd
		for _, want := range st.replies {
			cmd, raw := c.next()
			if key(cmd) != want {
				t.Fatalf("%s\nexpected %s, got %s", st.frame, want, raw)
			}
			if err := checkClientJSON(raw); err != nil {
				t.Errorf("%s\nreply the client would misread: %v\n%s", st.frame, err, raw)
			}
			if bytes.Contains(raw, []byte(`"error"`)) && want != "error" {
				t.Errorf("unexpected error: %s", raw)
			}
			got = append(got, cmd)
		}
		if st.check != nil {
			st.check(got)
		}
		c.quiet()
	}
	// The peer saw the comments as they came, in the same form.
	for {
		select {
		case raw := <-peer.in:
			if err := checkClientJSON(raw); err != nil {
				t.Errorf("peer: %v\n%s", err, raw)
			}
			continue
		case <-time.After(300 * time.Millisecond):
		}
		break
	}
	c.sendRaw(`{"logout":{},"cookies":{}}`)
	c.expectClosed()
}

// The checker itself must catch what the client would misread.
func TestCheckClientJSON(t *testing.T) {
	for _, bad := range []string{
		`{"welcome":{"server_version":"0.8.2"}}`,
		`{"showMessages":{"msgs":[{"type":1}]}}`,
		`{"openMediaFile":{"mediaFile":{"duration":{"totalFrames":300}}}}`,
		`{"addComments":{"comments":[{"created":"yesterday"}]}}`,
	} {
		if checkClientJSON([]byte(bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if err := checkClientJSON([]byte(`{"defineActions":{"actions":{"popup_builtin_rename":{"uiProps":{"label":"Rename"}}}}}`)); err != nil {
		t.Errorf("map keys are free-form: %v", err)
	}
}
