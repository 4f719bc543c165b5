package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/clapshot-go/clapshot/proto/clapshotpb"
)

// commandFields maps both spellings of every command key
// ("openMediaFile", "open_media_file") to its field in the cmd oneof.
var commandFields = func() map[string]protoreflect.FieldDescriptor {
	out := map[string]protoreflect.FieldDescriptor{}
	oneof := (&pb.ClientToServerCmd{}).ProtoReflect().Descriptor().Oneofs().ByName("cmd")
	for i := 0; i < oneof.Fields().Len(); i++ {
		f := oneof.Fields().Get(i)
		out[f.JSONName()] = f
		out[string(f.Name())] = f
	}
	return out
}()

// commandNames lists the JSON names, for error messages.
var commandNames = func() string {
	var names []string
	for k, f := range commandFields {
		if k == f.JSONName() {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}()

// Clients may send unknown fields inside a command only as an error, as in
// Clapshot (pbjson without ignore_unknown_fields).
var jsonIn = protojson.UnmarshalOptions{}

// protojson prefixes its errors with "proto: (line 1:23): ", positions in a
// document the client never saw.
// (protojson varies the space after "proto:" between a normal and a
// non-breaking one, so that nobody depends on its exact text.)
var protojsonNoise = regexp.MustCompile(`^proto:[\s\x{00a0}]*(\(line \d+:\d+\):[\s\x{00a0}]*)?`)

// decodeCommand parses one client message: a JSON object with exactly one
// command key, plus an optional "cookies" object, which is removed and
// returned (as Clapshot does; a message without it gives empty cookies).
// cookies is nil when the message is not a JSON object at all.
func decodeCommand(b []byte) (cmd *pb.ClientToServerCmd, cookies map[string]string, err error) {
	trimmed := bytes.TrimSpace(b)
	if !json.Valid(trimmed) {
		return nil, nil, errors.New("the message is not valid JSON")
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil, errors.New(`the message must be a JSON object such as {"listMyMessages":{}}`)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, nil, fmt.Errorf("the message is not a JSON object: %v", err)
	}
	cookies = map[string]string{}
	if raw, ok := obj["cookies"]; ok {
		var c map[string]any
		if json.Unmarshal(raw, &c) == nil {
			for k, v := range c {
				if s, ok := v.(string); ok {
					cookies[k] = s
				}
			}
		}
		delete(obj, "cookies")
	}
	switch len(obj) {
	case 0:
		return nil, cookies, errors.New(`empty message: expected one command such as {"listMyMessages":{}}`)
	case 1:
	default:
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range obj {
				if !yield(k) {
					return
				}
			}
		})
		return nil, cookies, fmt.Errorf("one command per message, got %d: %s", len(keys), strings.Join(keys, ", "))
	}
	var key string
	var val json.RawMessage
	for key, val = range obj {
	}
	if _, ok := commandFields[key]; !ok {
		return nil, cookies, fmt.Errorf("unknown command %q (known: %s)", key, commandNames)
	}
	if string(bytes.TrimSpace(val)) == "null" {
		return nil, cookies, fmt.Errorf("command %q has no arguments object (use {} for none)", key)
	}
	one := make([]byte, 0, len(key)+len(val)+8)
	one = append(one, '{')
	one, _ = appendJSONString(one, key)
	one = append(one, ':')
	one = append(one, val...)
	one = append(one, '}')
	cmd = &pb.ClientToServerCmd{}
	if err := jsonIn.Unmarshal(one, cmd); err != nil {
		return nil, cookies, fmt.Errorf("%s: %s", key, protojsonNoise.ReplaceAllString(err.Error(), ""))
	}
	return cmd, cookies, nil
}

func appendJSONString(b []byte, s string) ([]byte, error) {
	q, err := json.Marshal(s)
	return append(b, q...), err
}

// commandName is Clapshot's name of a command in error messages
// ("Cmd 'AddComment' failed: ..."): the message type's name.
func commandName(cmd *pb.ClientToServerCmd) string {
	m := cmd.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("cmd"))
	if f == nil {
		return "Unknown"
	}
	return string(f.Message().Name())
}
