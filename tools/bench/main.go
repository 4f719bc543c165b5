// Command bench runs the project's benchmarks and writes docs/BENCHMARKS.md.
//
// The machines are shared and noisy, so every suite measures a reference in
// the same run (bare ffmpeg, sqlite3, nginx, a minimal Go server, ...) and
// reports our figure as a ratio to it, with the absolute numbers beside.
//
// Each suite lives in its own file and registers itself with register().
// Running a subset (-suite a,b) replaces only those sections of the output
// file and keeps the others.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Suite is one group of benchmarks, written as one section.
type Suite struct {
	Name  string // used with -suite and in the section markers
	Title string
	Run   func(ctx context.Context, env *Env) (*Report, error)
}

// Env is what a suite gets to work with.
type Env struct {
	Root      string // repository root
	ServerBin string // built clapshot-server
	Work      string // scratch directory, removed afterwards
	Log       io.Writer
	Quick     bool // -quick: smaller inputs, for trying the tool out
}

// Logf prints progress.
func (e *Env) Logf(format string, args ...any) { fmt.Fprintf(e.Log, format+"\n", args...) }

// Report is a suite's result.
type Report struct {
	Rows  []Row
	Notes []string
}

// Row is one measured figure.
type Row struct {
	Metric    string
	Ours      string
	Reference string // what we compared with, and its figure
	Ratio     string
	Goal      string
	Met       string // "yes", "no" or ""
}

var suites []Suite

func register(s Suite) { suites = append(suites, s) }

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "markdown file to write")
	serverBin := flag.String("server", "bin/clapshot-server", "server binary to benchmark")
	only := flag.String("suite", "", "comma-separated suites to run (default: all)")
	quick := flag.Bool("quick", false, "smaller inputs (not for the published figures)")
	list := flag.Bool("list", false, "list suites and exit")
	flag.Parse()

	slices.SortFunc(suites, func(a, b Suite) int { return strings.Compare(a.Name, b.Name) })
	if *list {
		for _, s := range suites {
			fmt.Printf("%-12s %s\n", s.Name, s.Title)
		}
		return
	}
	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	bin, err := filepath.Abs(*serverBin)
	if err != nil {
		fatal(err)
	}
	work, err := os.MkdirTemp("", "clapshot-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)

	selected := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			selected[n] = true
		}
	}
	ctx := context.Background()
	sections := map[string]string{}
	failed := false
	for _, s := range suites {
		if len(selected) > 0 && !selected[s.Name] {
			continue
		}
		fmt.Printf("== %s: %s\n", s.Name, s.Title)
		env := &Env{Root: root, ServerBin: bin, Work: filepath.Join(work, s.Name), Log: os.Stdout, Quick: *quick}
		if err := os.MkdirAll(env.Work, 0o755); err != nil {
			fatal(err)
		}
		start := time.Now()
		rep, err := s.Run(ctx, env)
		if err != nil {
			fmt.Printf("   FAILED: %v\n", err)
			rep = &Report{Notes: []string{"**The suite failed:** " + err.Error()}}
			failed = true
		}
		sections[s.Name] = renderSection(s, rep, time.Since(start))
		fmt.Print(sections[s.Name])
	}
	if err := writeReport(*out, sections); err != nil {
		fatal(err)
	}
	fmt.Println("wrote", *out)
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func renderSection(s Suite, r *Report, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- suite:%s -->\n## %s\n\n", s.Name, s.Title)
	fmt.Fprintf(&b, "Measured %s on this machine, in %.0f s.\n\n", time.Now().Format("2006-01-02 15:04"), took.Seconds())
	if len(r.Rows) > 0 {
		b.WriteString("| Metric | Ours | Reference (same run) | Ratio | Goal | Met |\n|---|---|---|---|---|---|\n")
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.Metric, row.Ours, row.Reference, row.Ratio, row.Goal, row.Met)
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		b.WriteString("- " + n + "\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "<!-- /suite:%s -->\n", s.Name)
	return b.String()
}

var sectionRE = regexp.MustCompile(`(?s)<!-- suite:([a-z0-9-]+) -->.*?<!-- /suite:([a-z0-9-]+) -->\n?`)

// writeReport rewrites the header and the sections that ran, keeping the
// sections of suites that did not run this time.
func writeReport(path string, fresh map[string]string) error {
	old, _ := os.ReadFile(path)
	sections := map[string]string{}
	for _, m := range sectionRE.FindAllStringSubmatch(string(old), -1) {
		sections[m[1]] = m[0]
	}
	for k, v := range fresh {
		sections[k] = v
	}
	var b strings.Builder
	b.WriteString("# Benchmarks\n\nWritten by `make bench` (tools/bench). Every figure is compared with a reference measured in the same run on the same machine, because the machines are shared and noisy; the ratio is the figure to watch. Sections not re-run keep their earlier figures and date.\n\n")
	b.WriteString("## Machine (last run)\n\n")
	for _, line := range machineInfo() {
		b.WriteString("- " + line + "\n")
	}
	b.WriteString("\n")
	names := make([]string, 0, len(sections))
	for k := range sections {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString(sections[n])
		b.WriteString("\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func machineInfo() []string {
	var out []string
	out = append(out, "Date: "+time.Now().Format("2006-01-02 15:04 MST"))
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				out = append(out, "CPU: "+strings.TrimSpace(strings.SplitN(l, ":", 2)[1])+fmt.Sprintf(" (%d logical CPUs)", runtime.NumCPU()))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		out = append(out, "Memory: "+strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " "))
	}
	if k, err := exec.Command("uname", "-sr").Output(); err == nil {
		out = append(out, "Kernel: "+strings.TrimSpace(string(k)))
	}
	out = append(out, "Go: "+runtime.Version())
	for _, tool := range [][]string{{"ffmpeg", "-version"}, {"sqlite3", "--version"}, {"nginx", "-v"}} {
		if o, err := exec.Command(tool[0], tool[1:]...).CombinedOutput(); err == nil {
			out = append(out, tool[0]+": "+strings.TrimSpace(strings.SplitN(string(o), "\n", 2)[0]))
		}
	}
	return out
}

// Small statistics helpers shared by suites.

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(ours, ref float64) string {
	if ref == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", ours/ref)
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// stopProcess ends a server a benchmark started: SIGTERM, then wait. Its
// exit status says only that it was told to stop.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// writeFiles creates dir with the given files (name -> contents).
func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}
