package liveconf

import (
	"errors"

	"github.com/clapshot-go/clapshot/internal/live"
)

// LocalFile is one local_files entry: an MP4 file played as a live
// source, in real time, looping if asked.
type LocalFile struct {
	GUID string `toml:"guid" json:"guid"`
	// File is the MP4's path (relative: to the working directory, as in
	// video-server).
	File        string   `toml:"file" json:"file"`
	OutputTypes []string `toml:"output_types" json:"output_types"`
	Loop        bool     `toml:"loop" json:"loop"`
	OnDemand    *bool    `toml:"on_demand" json:"on_demand"`
	// Ours, as in rtsp_streams.
	Name       string   `toml:"name" json:"name"`
	Users      []string `toml:"users" json:"users"`
	AdminsOnly bool     `toml:"admins_only" json:"admins_only"`
}

// localFileConfigs adds the local_files entries to StreamConfigs' result;
// seen holds the guids taken so far. Whether a file can play is the
// engine's to find (it may appear or change later): a stream that cannot
// play it is offline with the reason.
func (f *File) localFileConfigs(seen map[string]bool, out []live.StreamConfig, errs []*StreamError) ([]live.StreamConfig, []*StreamError) {
	for i, l := range f.LocalFiles {
		fail := func(err error) {
			errs = append(errs, &StreamError{Section: "local_files", Index: i, GUID: l.GUID, Err: err})
		}
		id, err := live.NormalizeID(l.GUID)
		switch {
		case err != nil:
			fail(err)
			continue
		case seen[id]:
			fail(errors.New("the same guid is used by an earlier stream"))
			continue
		case l.File == "":
			fail(errors.New("file is empty: the path of an MP4 file is expected"))
			continue
		}
		cfg := live.StreamConfig{ID: id, Name: l.Name, File: l.File, Loop: l.Loop, Users: l.Users, AdminsOnly: l.AdminsOnly}
		if err := f.demandAndOutputs(&cfg, l.OnDemand, l.OutputTypes); err != nil {
			fail(err)
			continue
		}
		seen[id] = true
		out = append(out, cfg)
	}
	return out, errs
}

// demandAndOutputs applies what every stream entry has: on_demand (the
// global setting unless the entry says) and output_types (default mse and
// llhls).
func (f *File) demandAndOutputs(cfg *live.StreamConfig, onDemand *bool, types []string) error {
	cfg.OnDemand = f.OnDemand.Enabled
	if onDemand != nil {
		cfg.OnDemand = *onDemand
	}
	if len(types) == 0 {
		types = []string{"mse", "llhls"}
	}
	return OutputTypes(types, cfg)
}
