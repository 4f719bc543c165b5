package archive

import "github.com/prometheus/client_golang/prometheus"

// Collector exports each stream's archive under namespace (e.g.
// "video_server" or "clapshot_live").
func (a *Archive) Collector(namespace string) prometheus.Collector {
	l := []string{"stream"}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_archive_"+name, help, l, nil)
	}
	return &collector{a: a,
		recording: d("recording", "1 while the stream's recorder runs."),
		segments:  d("segments", "Segments held (on disk and in the object store)."),
		bytes:     d("bytes", "Bytes held (on disk and in the object store)."),
		dropped:   d("dropped_units_total", "Units the recorder lost because the disk did not keep up."),
		writeErrs: d("write_errors_total", "Failed creates, writes and syncs of segment files."),
		pending:   d("pending_uploads", "Closed segments not yet in the object store."),
		uploadErr: d("upload_errors_total", "Failed uploads to the object store."),
	}
}

type collector struct {
	a                                                                  *Archive
	recording, segments, bytes, dropped, writeErrs, pending, uploadErr *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.recording, c.segments, c.bytes, c.dropped, c.writeErrs, c.pending, c.uploadErr} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.a.mu.Lock()
	stores := make([]*Store, 0, len(c.a.stores))
	for _, st := range c.a.stores {
		stores = append(stores, st)
	}
	c.a.mu.Unlock()
	for _, st := range stores {
		s := st.Status()
		rec := 0.0
		if s.Recording {
			rec = 1
		}
		g, k := prometheus.GaugeValue, prometheus.CounterValue
		ch <- prometheus.MustNewConstMetric(c.recording, g, rec, st.id)
		ch <- prometheus.MustNewConstMetric(c.segments, g, float64(s.Segments), st.id)
		ch <- prometheus.MustNewConstMetric(c.bytes, g, float64(s.Bytes), st.id)
		ch <- prometheus.MustNewConstMetric(c.dropped, k, float64(s.DroppedUnits), st.id)
		ch <- prometheus.MustNewConstMetric(c.writeErrs, k, float64(s.WriteErrors), st.id)
		ch <- prometheus.MustNewConstMetric(c.pending, g, float64(s.PendingUploads), st.id)
		ch <- prometheus.MustNewConstMetric(c.uploadErr, k, float64(s.UploadErrors), st.id)
	}
}
