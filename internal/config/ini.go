package config

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

type iniValue struct {
	key, value string
	line       int
}

// readINIFile reads the [general] section of a Clapshot Debian config file,
// and our [live] section, whose keys are the --live-* options without the
// prefix ("config = /etc/clapshot/live.toml" is --live-config).
//
// Clapshot fed this file through Python's configparser and then "bash -c", so
// the accepted syntax is: "key = value" or "key: value", comment lines
// starting with # or ;, keys case-insensitive, one pair of surrounding quotes
// removed from a value (the shell did that). We also strip a trailing
// " # comment", which the shell silently dropped as well.
func readINIFile(path string) ([]iniValue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()

	var (
		out     []iniValue
		section string
		seen    = map[string]int{}
		sc      = bufio.NewScanner(f)
		lineNo  int
	)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s line %d: malformed section header %q", path, lineNo, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if section != "general" && section != "live" {
				return nil, fmt.Errorf("%s line %d: unknown section [%s] (only [general] and [live] are read)", path, lineNo, section)
			}
			continue
		}
		sep := strings.IndexAny(line, "=:")
		if sep <= 0 {
			return nil, fmt.Errorf("%s line %d: expected \"key = value\", got %q", path, lineNo, line)
		}
		if section == "" {
			return nil, fmt.Errorf("%s line %d: %q comes before the [general] section header", path, lineNo, line)
		}
		key := strings.ToLower(strings.TrimSpace(line[:sep]))
		if section == "live" {
			key = "live-" + key
		}
		value := stripInlineComment(strings.TrimSpace(line[sep+1:]))
		value = unquote(value)
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s line %d: key %q already set on line %d", path, lineNo, key, prev)
		}
		seen[key] = lineNo
		out = append(out, iniValue{key: key, value: value, line: lineNo})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return out, nil
}

func stripInlineComment(v string) string {
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		return v // quoted: a # inside belongs to the value
	}
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
