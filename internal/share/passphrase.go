package share

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Passphrases are people's choices, so they are hashed slowly: argon2id
// with OWASP's minimum (19 MiB, 2 passes, 1 lane), in the PHC string form
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") so that the parameters
// can be raised later without breaking stored hashes.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Passphrase limits, in characters (runes) and bytes.
const (
	MinPassphrase      = 6
	MaxPassphraseBytes = 1024
)

// hashers bounds the argon2id runs at a time: each takes argonMemory, and
// a burst of guesses must not take the server's memory.
var hashers = make(chan struct{}, 2)

// checkPassphrase says what is wrong with a new passphrase, if anything.
func checkPassphrase(p string) error {
	switch {
	case !utf8.ValidString(p):
		return errors.New("the passphrase is not valid UTF-8 text")
	case utf8.RuneCountInString(p) < MinPassphrase:
		return fmt.Errorf("the passphrase must have at least %d characters", MinPassphrase)
	case len(p) > MaxPassphraseBytes:
		return fmt.Errorf("the passphrase must have at most %d bytes", MaxPassphraseBytes)
	}
	return nil
}

// hashPassphrase hashes a new passphrase.
func hashPassphrase(ctx context.Context, p string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("random salt: %w", err)
	}
	key, err := argonKey(ctx, p, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func argonKey(ctx context.Context, p string, salt []byte, t, m uint32, threads uint8, keyLen uint32) ([]byte, error) {
	select {
	case hashers <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashers }()
	return argon2.IDKey([]byte(p), salt, t, m, threads, keyLen), nil
}

// errBadHash is a stored hash this code cannot read (edited by hand, or
// from a later version).
var errBadHash = errors.New("stored passphrase hash is not argon2id in PHC form")

// passphraseMatches checks a passphrase against a stored hash, comparing
// in constant time.
func passphraseMatches(ctx context.Context, p, stored string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &threads); err != nil || t == 0 || threads == 0 || m > 1<<22 {
		return false, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errBadHash
	}
	got, err := argonKey(ctx, p, salt, t, m, threads, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
